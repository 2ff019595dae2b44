"""The alerts app: alert definitions, the evaluation engine, firings and in-app notifications."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        # The engine listens to the feed's market events (see alerts.engine_runner).
        from alerts.engine_runner import on_bars, on_prices
        from markets.events import BarsClosed, PriceBatch, market_events

        market_events.listen(PriceBatch, on_prices)
        market_events.listen(BarsClosed, on_bars)
