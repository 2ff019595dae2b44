"""OHLCV bars: the roll-up of lower timeframes into higher ones, and the live aggregator.

``bars_rollup`` is the direct computation (used to build history and to resume after a
restart); ``CandleAggregator`` builds the same bars tick by tick in the feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from markets.timeframes import TIMEFRAME_SECONDS, bucket_start

# Column order of a bar array: shape (n, 6).
TIME, OPEN, HIGH, LOW, CLOSE, VOLUME = range(6)


def bars_rollup(bars: np.ndarray, seconds: int) -> np.ndarray:
    """Roll bars (sorted by open time, column order above) into ``seconds``-long bars."""
    if len(bars) == 0:
        return np.empty((0, 6))
    buckets = bars[:, TIME].astype(np.int64) // seconds * seconds
    starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
    ends = np.r_[starts[1:], len(bars)] - 1
    out = np.empty((len(starts), 6))
    out[:, TIME] = buckets[starts]
    out[:, OPEN] = bars[starts, OPEN]
    out[:, HIGH] = np.maximum.reduceat(bars[:, HIGH], starts)
    out[:, LOW] = np.minimum.reduceat(bars[:, LOW], starts)
    out[:, CLOSE] = bars[ends, CLOSE]
    out[:, VOLUME] = np.add.reduceat(bars[:, VOLUME], starts)
    return out


@dataclass(slots=True)
class Bar:
    """A bar being formed: open time in epoch seconds, prices in USDT, volume in the base asset."""

    time: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def add(self, price: float, qty: float) -> None:
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.close = price
        self.volume += qty

    def as_dict(self) -> dict:
        return {
            "time": self.time,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


@dataclass(slots=True)
class ClosedBar:
    symbol: str
    timeframe: str
    bar: Bar


@dataclass
class CandleAggregator:
    """The forming bar of every (symbol, timeframe); closes bars when their bucket ends."""

    timeframes: tuple[str, ...] = tuple(TIMEFRAME_SECONDS)
    forming: dict[str, dict[str, Bar]] = field(default_factory=dict)
    # Per symbol, the end of its latest closed bar: a tick before it belongs to a stored bar.
    closed_until: dict[str, int] = field(default_factory=dict)

    def resume(self, symbol: str, timeframe: str, bar: Bar) -> None:
        """Continue a bar that was partly built before a restart (from stored lower bars)."""
        self.forming.setdefault(symbol, {})[timeframe] = bar

    def add(self, symbol: str, price: float, qty: float, ts: float) -> list[ClosedBar]:
        """Apply a trade or tick at ``ts`` (epoch seconds); return the bars it closed."""
        closed: list[ClosedBar] = []
        if ts < self.closed_until.get(symbol, 0):
            # Out of order: a bar it belongs to is closed, so no timeframe takes it (a higher
            # bar that did would no longer be the roll-up of the lower ones).
            return closed
        bars = self.forming.setdefault(symbol, {})
        for timeframe in self.timeframes:
            start = bucket_start(ts, TIMEFRAME_SECONDS[timeframe])
            bar = bars.get(timeframe)
            if bar is None or bar.time < start:
                if bar is not None:
                    closed.append(self._closed(symbol, timeframe, bar))
                bars[timeframe] = Bar(start, price, price, price, price, qty)
            else:
                bar.add(price, qty)
        return closed

    def _closed(self, symbol: str, timeframe: str, bar: Bar) -> ClosedBar:
        end = bar.time + TIMEFRAME_SECONDS[timeframe]
        self.closed_until[symbol] = max(self.closed_until.get(symbol, 0), end)
        return ClosedBar(symbol, timeframe, bar)

    def close_due(self, now: float) -> list[ClosedBar]:
        """Close every bar whose bucket has ended by ``now``, for symbols that stopped ticking."""
        closed = []
        for symbol, bars in self.forming.items():
            for timeframe in list(bars):
                bar = bars[timeframe]
                if bar.time + TIMEFRAME_SECONDS[timeframe] <= now:
                    closed.append(self._closed(symbol, timeframe, bars.pop(timeframe)))
        return closed

    def bars_of(self, symbol: str) -> dict[str, Bar]:
        return self.forming.get(symbol, {})
