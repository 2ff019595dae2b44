"""Users who signed up before watchlists existed get their default list too."""

from django.conf import settings
from django.db import migrations


def default_lists_create(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Watchlist = apps.get_model("watchlists", "Watchlist")
    have = set(Watchlist.objects.filter(is_default=True).values_list("user_id", flat=True))
    Watchlist.objects.bulk_create(
        Watchlist(user_id=pk, name="Watchlist", is_default=True)
        for pk in User.objects.exclude(pk__in=have).values_list("pk", flat=True)
    )


class Migration(migrations.Migration):
    dependencies = [("watchlists", "0001_initial"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [migrations.RunPython(default_lists_create, migrations.RunPython.noop)]
