"""The markets app: coins, candles, sources, the feed and the /ws consumer."""

from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "markets"
    verbose_name = "Markets"

    def ready(self) -> None:
        from markets.live import live_listen

        live_listen()  # /ws clients and pages get the feed's prices and forming bars
