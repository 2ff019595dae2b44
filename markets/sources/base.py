"""The market-source interface and the values sources exchange with the feed and the API.

A source is an exchange as the rest of the project sees it: a stream of ticker updates (and, from
a real exchange, its own 1m bars) for the feed, history for back-filling candles, an order book
and recent trades on demand, and, where the exchange decides which coins exist, its listings.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

import numpy as np

from scalpaiboard.api import ApplicationError


@dataclass(frozen=True, slots=True)
class CoinProfile:
    """What a source needs to know of a coin. Volatility and beta drive the simulation only."""

    symbol: str
    name: str
    rank: int
    price: float
    volume_24h: float
    circulating_supply: float | None = None
    daily_volatility: float = 0.05
    beta: float = 1.0


@dataclass(frozen=True, slots=True)
class Tick:
    """A ticker update: last price, base volume traded since the previous tick, 24h statistics."""

    symbol: str
    price: float
    qty: float
    ts: int  # exchange time, epoch milliseconds
    change24h: float  # percent
    volume24h: float  # quote (USDT) volume
    high24h: float
    low24h: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BarUpdate:
    """The exchange's own 1m bar as it stands (a kline): still forming, or ``final`` once closed."""

    symbol: str
    time: int  # open time, epoch seconds
    open: float
    high: float
    low: float
    close: float
    volume: float  # base asset
    final: bool
    ts: int  # exchange time of the update, epoch milliseconds


@dataclass(frozen=True, slots=True)
class Resync:
    """A stream (re)started at ``since`` (exchange time, epoch seconds) for ``symbols``.

    Bars of the minutes before ``since``'s minute may have been missed: the feed back-fills them
    from ``history`` before it applies the updates that follow this marker.
    """

    symbols: frozenset[str]
    since: float


@dataclass(frozen=True, slots=True)
class Listing:
    """A coin the exchange lists against USDT, with its 24h figures (for choosing the universe)."""

    symbol: str
    price: float
    change24h: float
    volume24h: float  # quote (USDT) volume
    high24h: float
    low24h: float


@dataclass(frozen=True, slots=True)
class LastBar:
    """A coin's last stored 1m bar: where a back-fill continues from."""

    time: int  # open time, epoch seconds
    close: float


@dataclass(frozen=True, slots=True)
class Trade:
    id: int
    price: float
    qty: float
    side: str  # "buy" or "sell": the taker's side
    ts: int  # epoch milliseconds

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OrderBook:
    symbol: str
    ts: int
    bids: list[tuple[float, float]]  # (price, quantity), best first
    asks: list[tuple[float, float]]

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "ts": self.ts, "bids": self.bids, "asks": self.asks}


class SourceUnavailable(ApplicationError):
    """The source cannot answer now (feed not running, exchange unreachable): a 503 for API clients."""

    status_code = 503


class MarketSource(abc.ABC):
    """An exchange. ``ticks`` and ``history`` run in the feed; the rest in any process."""

    name: str
    # True when ``ticks`` also yields BarUpdates: candles then come from the exchange's bars, and
    # ticker updates (which carry no traded quantity) do not touch them.
    streams_bars: bool = False

    @abc.abstractmethod
    async def start(self, *, coins: list[CoinProfile], recent_1m: dict[str, np.ndarray]) -> None:
        """Prepare to stream ``coins``; ``recent_1m`` holds each one's stored 1m bars of the last day."""

    @abc.abstractmethod
    def ticks(self) -> AsyncIterator[list[Tick | BarUpdate | Resync]]:
        """Yield batches of updates in the order the exchange sent them, one batch per update cycle."""

    @abc.abstractmethod
    def history(
        self, *, coins: list[CoinProfile], last_bars: dict[str, LastBar | None], until: int
    ) -> dict[str, dict[str, np.ndarray]]:
        """Closed bars after each coin's last stored 1m bar (all history when None) up to ``until``.

        Returns ``{timeframe: {symbol: bar array}}`` in ``markets.candles`` column order.
        """

    @abc.abstractmethod
    def order_book(self, symbol: str, depth: int) -> OrderBook:
        """The current order book, ``depth`` levels a side."""

    @abc.abstractmethod
    def recent_trades(self, symbol: str, limit: int) -> list[Trade]:
        """The latest trades, newest first."""

    def listings(self) -> list[Listing] | None:
        """Every coin the exchange trades against USDT now; None when the source has a fixed universe."""
        return None
