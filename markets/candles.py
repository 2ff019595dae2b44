"""OHLCV bars: the roll-up of lower timeframes into higher ones, and the live aggregators.

``bars_rollup`` is the direct computation (used to build history and to resume after a
restart); ``CandleAggregator`` builds the same bars tick by tick in the feed, and
``MinuteAggregator`` builds them from an exchange's own 1m bars.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from markets.timeframes import TIMEFRAME_SECONDS, bucket_start

# Column order of a bar array: shape (n, 6).
TIME, OPEN, HIGH, LOW, CLOSE, VOLUME = range(6)
HIGHER_TIMEFRAMES = {tf: seconds for tf, seconds in TIMEFRAME_SECONDS.items() if tf != "1m"}


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

    def merge(self, other: Bar) -> None:
        """Extend this bar by ``other``, the bar that follows it."""
        self.high = max(self.high, other.high)
        self.low = min(self.low, other.low)
        self.close = other.close
        self.volume += other.volume

    def copy(self) -> Bar:
        return Bar(self.time, self.open, self.high, self.low, self.close, self.volume)

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

    def restart(self, symbols: set[str] | frozenset[str], until: int) -> None:
        """Forget the bars of ``symbols``; bars before ``until`` are stored and ticks before it ignored."""
        for symbol in symbols:
            self.forming.pop(symbol, None)
            self.closed_until[symbol] = until

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


@dataclass
class MinuteAggregator:
    """Every timeframe's forming bar from the exchange's own 1m bars (klines), exactly as it reports them.

    A 1m bar is replaced by each update and closes with its final one. A higher bar is the roll-up
    of its closed minutes (``settled``) plus the forming minute, and closes with its last minute:
    the same bar the exchange reports for that timeframe. Ticker updates never touch bars here.
    """

    grace: float = 10.0  # seconds after its end that a bar without a final update is closed anyway
    minute: dict[str, Bar] = field(default_factory=dict)
    settled: dict[str, dict[str, Bar]] = field(default_factory=dict)
    # Per symbol, the end of its latest closed minute: an update before it belongs to a stored bar.
    closed_until: dict[str, int] = field(default_factory=dict)

    def resume(self, symbol: str, timeframe: str, bar: Bar) -> None:
        """Continue a higher bar from the roll-up of its minutes already stored."""
        self.settled.setdefault(symbol, {})[timeframe] = bar

    def restart(self, symbols: set[str] | frozenset[str], until: int) -> None:
        """Forget the bars of ``symbols``; minutes before ``until`` are stored and will not come again."""
        for symbol in symbols:
            self.minute.pop(symbol, None)
            self.settled.pop(symbol, None)
            self.closed_until[symbol] = until

    def add_minute(self, symbol: str, bar: Bar, final: bool) -> list[ClosedBar]:
        """Apply an update of the 1m bar opened at ``bar.time``; return the bars it closed."""
        if bar.time < self.closed_until.get(symbol, 0):
            return []  # a late copy of a minute already closed (and stored)
        closed: list[ClosedBar] = []
        current = self.minute.get(symbol)
        if current is not None and current.time < bar.time:
            closed += self._close_minute(symbol, current)  # its final update never came
        if final:
            closed += self._close_minute(symbol, bar)
        else:
            self.minute[symbol] = bar
        return closed

    def _close_minute(self, symbol: str, bar: Bar) -> list[ClosedBar]:
        closed = [ClosedBar(symbol, "1m", bar)]
        self.minute.pop(symbol, None)
        self.closed_until[symbol] = bar.time + 60
        settled = self.settled.setdefault(symbol, {})
        for timeframe, seconds in HIGHER_TIMEFRAMES.items():
            start = bucket_start(bar.time, seconds)
            higher = settled.get(timeframe)
            if higher is not None and higher.time < start:
                closed.append(ClosedBar(symbol, timeframe, settled.pop(timeframe)))  # its last minute never came
                higher = None
            if higher is None:
                settled[timeframe] = bar.copy()
                settled[timeframe].time = start
            else:
                higher.merge(bar)
            if bar.time + 60 == start + seconds:
                closed.append(ClosedBar(symbol, timeframe, settled.pop(timeframe)))
        return closed

    def close_due(self, now: float) -> list[ClosedBar]:
        """Close the bars of symbols whose updates stopped, ``grace`` seconds after the bar ended."""
        closed: list[ClosedBar] = []
        for symbol, bar in list(self.minute.items()):
            if bar.time + 60 + self.grace <= now:
                closed += self._close_minute(symbol, bar)
        for symbol, bars in self.settled.items():
            for timeframe in list(bars):
                if bars[timeframe].time + TIMEFRAME_SECONDS[timeframe] + self.grace <= now:
                    closed.append(ClosedBar(symbol, timeframe, bars.pop(timeframe)))
        return closed

    def bars_of(self, symbol: str) -> dict[str, Bar]:
        """The forming bar of each timeframe: its settled minutes merged with the forming one."""
        minute = self.minute.get(symbol)
        settled = self.settled.get(symbol, {})
        out = {"1m": minute} if minute is not None else {}
        for timeframe, seconds in HIGHER_TIMEFRAMES.items():
            bar = settled.get(timeframe)
            if minute is not None:
                start = bucket_start(minute.time, seconds)
                if bar is not None and bar.time == start:
                    bar = bar.copy()
                    bar.merge(minute)
                else:
                    bar = Bar(start, minute.open, minute.high, minute.low, minute.close, minute.volume)
            if bar is not None:
                out[timeframe] = bar
        return out
