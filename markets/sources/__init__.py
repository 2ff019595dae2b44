"""Market sources: the exchanges the feed streams from (simulated by default, or Binance)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from markets.sources.base import MarketSource


@cache
def market_source() -> MarketSource:
    """The source named by MARKET_SOURCE, one per process."""
    if settings.MARKET_SOURCE == "simulated":
        from markets.sources.simulated import SimulatedSource

        return SimulatedSource(seed=settings.SIMULATION_SEED, tick_seconds=settings.SIMULATION_TICK_SECONDS)
    if settings.MARKET_SOURCE == "binance":
        from markets.sources.binance import BinanceSource

        return BinanceSource(rest_url=settings.BINANCE_REST_URL, ws_url=settings.BINANCE_WS_URL)
    raise NotImplementedError(f"MARKET_SOURCE={settings.MARKET_SOURCE!r} is not available")
