"""Market events: what the feed announces, and the listeners apps register for them.

The feed is a source of events, not a hub. Per batch of ticks it publishes one ``PriceBatch`` (each
update's coin, the price before it and after it, the exchange time); after the transaction that stores
closed bars commits, one ``BarsClosed``; after the cache snapshot names new forming bars, one
``FormingBars`` (what live charts draw). Apps register listeners from their ``AppConfig.ready()``:

    market_events.listen(PriceBatch, on_prices)

A listener is an ``async`` function of the event, awaited on the feed's event loop in the order
registered: it must hand slow work elsewhere (a thread, a Celery queue) and return within a few
milliseconds. A listener that raises is logged and does not stop the feed or the other listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PriceBatch:
    """Price updates in the order they happened. Row i: ``symbols[i]`` went from ``previous[i]`` to
    ``prices[i]`` at exchange time ``ts[i]`` (epoch ms). A coin may appear more than once (each update
    against the one before it); ``previous`` is the price itself for a coin's first update since start.
    ``tickers`` holds each coin's latest ticker as published on /ws (symbol, price, change24h, volume24h,
    high24h, low24h, market_cap, ts)."""

    symbols: list[str]
    previous: list[float]
    prices: list[float]
    ts: list[int]
    tickers: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ClosedBarRow:
    """A closed bar as stored: open time in epoch seconds, prices in USDT, volume in the base asset."""

    symbol: str
    timeframe: str
    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True, slots=True)
class BarsClosed:
    """Bars that closed and are committed to the database (any timeframe, any coin)."""

    bars: list[ClosedBarRow]


@dataclass(frozen=True, slots=True)
class FormingBars:
    """The forming bar of every timeframe of the coins whose bars moved since the last snapshot:
    ``{symbol: {timeframe: {"time", "open", "high", "low", "close", "volume"}}}``."""

    bars: dict[str, dict[str, dict]]


MarketEvent = PriceBatch | BarsClosed | FormingBars
Listener = Callable[[MarketEvent], Awaitable[None]]


class MarketEvents:
    """The listeners of each event type."""

    def __init__(self):
        self.listeners: dict[type, list[Listener]] = {}

    def listen(self, event_type: type, listener: Listener) -> None:
        """Call ``listener`` with every event of ``event_type`` (once, however often registered)."""
        listeners = self.listeners.setdefault(event_type, [])
        if listener not in listeners:
            listeners.append(listener)

    def forget(self, event_type: type, listener: Listener) -> None:
        """Stop calling ``listener`` (tests)."""
        if listener in self.listeners.get(event_type, []):
            self.listeners[event_type].remove(listener)

    async def publish(self, event: MarketEvent) -> None:
        """Await every listener of the event's type in turn; one that fails is logged and skipped."""
        for listener in list(self.listeners.get(type(event), ())):
            try:
                await listener(event)
            except Exception:
                logger.exception("Market event listener %s failed on a %s", _name(listener), type(event).__name__)


def _name(listener: Listener) -> str:
    return getattr(listener, "__qualname__", repr(listener))


market_events = MarketEvents()
