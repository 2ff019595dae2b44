"""Full-text search of messages on PostgreSQL: a GIN index on the expression the conversation search
filters by (assistant.selectors, SearchVector("content", config="english")). SQLite searches by contains."""

from django.db import migrations

INDEX = "assistant_message_search"
CREATE = (
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON assistant_message "
    "USING GIN (to_tsvector('english'::regconfig, COALESCE(content, '')))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("assistant", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
