"""The markets app: coins, candles, sources, the feed and the /ws consumer."""

from django.apps import AppConfig


class MarketsConfig(AppConfig):
    name = "markets"
    verbose_name = "Markets"
