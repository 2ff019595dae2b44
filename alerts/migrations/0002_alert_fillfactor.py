"""Leave a fifth of each alerts_alert page free on PostgreSQL, so that a firing's claim (last firing,
fire count, updated_at: no indexed column) is a HOT update that rewrites none of the table's indexes."""

from django.db import migrations


def fillfactor_set(value: int | None):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        option = "RESET (fillfactor)" if value is None else f"SET (fillfactor = {value})"
        schema_editor.execute(f"ALTER TABLE alerts_alert {option}")

    return apply


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(fillfactor_set(80), fillfactor_set(None), elidable=False)]
