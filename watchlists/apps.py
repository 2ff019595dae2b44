"""The watchlists app: named watchlists with live performance, and the portfolio of holdings."""

from django.apps import AppConfig


class WatchlistsConfig(AppConfig):
    name = "watchlists"
    verbose_name = "Watchlists and portfolio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every user has a default list from sign-up.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from watchlists.services import on_user_created

        post_save.connect(on_user_created, sender=get_user_model(), dispatch_uid="watchlists-default-list")
