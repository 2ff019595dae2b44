"""The imitation's market: deterministic klines of every interval, consistent with each other.

Each symbol's days are a random walk. Every bar is split into its children (1d -> 6 x 4h ->
4 x 1h -> 4 x 15m -> 3 x 5m -> 5 x 1m) so that the children's open, high, low, close and
volume make up the parent exactly, as Binance's own klines do. Prices are whole ticks and
volumes whole lots (integers), so sums are exact and every number renders as Binance's
8-decimal strings. A bar still forming at ``now`` is the roll-up of its closed children and
the forming one; a forming minute follows a path through its open, high, low and close.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

DAY = 86400
# interval -> (seconds, children per bar of the interval above)
LEVELS = {"1d": (86400, 1), "4h": (14400, 6), "1h": (3600, 4), "15m": (900, 4), "5m": (300, 3), "1m": (60, 5)}
ORDER = list(LEVELS)
OPEN, HIGH, LOW, CLOSE, VOLUME = range(5)


@dataclass
class ImitatedSymbol:
    """A listed pair: ``base`` + USDT, its price around the market's origin and its 24h quote volume."""

    base: str
    price: float
    quote_volume: float
    status: str = "TRADING"
    quote: str = "USDT"

    @property
    def pair(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def price_decimals(self) -> int:
        return min(8, max(0, 6 - math.floor(math.log10(self.price))))

    @property
    def volume_decimals(self) -> int:
        daily = self.quote_volume / self.price
        return min(8, max(0, 14 - math.ceil(math.log10(max(daily, 1.0)))))


def decimal(units: int, decimals: int) -> str:
    """``units`` x 10^-decimals as Binance writes numbers: a string with 8 decimals."""
    scaled = int(units) * 10 ** (8 - decimals)
    sign = "-" if scaled < 0 else ""
    scaled = abs(scaled)
    return f"{sign}{scaled // 10**8}.{scaled % 10**8:08d}"


@dataclass
class Series:
    """One symbol's days (integer ticks and lots) from its first listed day on."""

    symbol: ImitatedSymbol
    index: int
    first_day: int  # epoch day number of days[0]
    days: np.ndarray  # (n, 5) int64: o, h, l, c, v


@dataclass(eq=False)
class Market:
    """Klines of every symbol, generated lazily and cached; ``seed`` fixes them all."""

    seed: int
    origin: float  # exchange time the prices are anchored to (epoch seconds)
    history_days: int = 30
    future_days: int = 60
    # When set, klines start this many minutes before the origin instead of at the first day's
    # start (a recent listing; its first higher bars then cover only part of their bucket).
    history_minutes: int | None = None
    series: dict[str, Series] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._children = lru_cache(maxsize=500_000)(self._split)

    def add(self, symbol: ImitatedSymbol) -> None:
        """List ``symbol`` with ``history_days`` of history before the origin."""
        index = len(self.series)
        origin_day = int(self.origin) // DAY
        first_day = origin_day - self.history_days
        n = self.history_days + self.future_days
        rng = np.random.default_rng([self.seed, index])
        sigma = 0.03
        steps = rng.standard_normal(n) * sigma
        walk = np.exp(np.cumsum(steps) - np.cumsum(steps)[self.history_days])
        close = symbol.price * walk
        open_ = np.r_[symbol.price * walk[0] / math.exp(steps[0]), close[:-1]]
        high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, sigma / 2, n)))
        low = np.minimum(open_, close) * (1 - np.minimum(0.5, np.abs(rng.normal(0, sigma / 2, n))))
        volume = symbol.quote_volume / symbol.price * np.exp(rng.normal(0, 0.3, n))
        tick, lot = 10.0**symbol.price_decimals, 10.0**symbol.volume_decimals
        days = np.empty((n, 5), dtype=np.int64)
        days[:, OPEN], days[:, CLOSE] = np.round(open_ * tick), np.round(close * tick)
        days[:, HIGH] = np.maximum(np.round(high * tick), days[:, [OPEN, CLOSE]].max(axis=1))
        days[:, LOW] = np.maximum(1, np.minimum(np.round(low * tick), days[:, [OPEN, CLOSE]].min(axis=1)))
        days[:, VOLUME] = np.round(volume * lot)
        days[:, OPEN] = np.maximum(days[:, OPEN], 1)
        days[:, CLOSE] = np.maximum(days[:, CLOSE], 1)
        self.series[symbol.pair] = Series(symbol, index, first_day, days)

    def listed_from(self, pair: str) -> int:
        if self.history_minutes is not None:
            return int(self.origin) // 60 * 60 - self.history_minutes * 60
        return self.series[pair].first_day * DAY

    # --- closed bars ----------------------------------------------------------------------

    def final(self, pair: str, interval: str, open_time: int) -> tuple[int, int, int, int, int]:
        """The closed bar of ``interval`` opening at ``open_time`` (epoch seconds), as integers."""
        seconds, _ = LEVELS[interval]
        if interval == "1d":
            series = self.series[pair]
            return tuple(int(x) for x in series.days[open_time // DAY - series.first_day])
        parent = ORDER[ORDER.index(interval) - 1]
        parent_seconds = LEVELS[parent][0]
        parent_open = open_time - open_time % parent_seconds
        return self._children(pair, interval, parent_open)[(open_time - parent_open) // seconds]

    def _split(self, pair: str, interval: str, parent_open: int) -> tuple[tuple[int, ...], ...]:
        """Split the parent bar into its ``interval`` children: they make up its OHLCV exactly."""
        o, h, lo, c, v = self.final(pair, ORDER[ORDER.index(interval) - 1], parent_open)
        k = LEVELS[interval][1]
        rng = np.random.default_rng([self.seed, self.series[pair].index, ORDER.index(interval), parent_open])
        steps = np.arange(1, k) / k
        inner = np.round(o + (c - o) * steps + (h - lo) * 0.35 * (rng.random(k - 1) - 0.5))
        points = np.r_[o, np.clip(inner, lo, h), c].astype(np.int64)
        opens, closes = points[:-1], points[1:]
        top, bottom = np.maximum(opens, closes), np.minimum(opens, closes)
        highs = top + np.floor((h - top) * rng.random(k) ** 3).astype(np.int64)
        lows = bottom - np.floor((bottom - lo) * rng.random(k) ** 3).astype(np.int64)
        highs[rng.integers(k)], lows[rng.integers(k)] = h, lo
        weights = rng.random(k) + 0.2
        volumes = np.floor(v * weights / weights.sum()).astype(np.int64)
        volumes[-1] += v - volumes.sum()
        return tuple(zip(*(a.tolist() for a in (opens, highs, lows, closes, volumes)), strict=True))

    # --- forming bars ---------------------------------------------------------------------

    def state(self, pair: str, interval: str, open_time: int, now: float) -> tuple[int, int, int, int, int]:
        """The bar as it stands at ``now``: final once closed, else what has traded so far."""
        seconds, _ = LEVELS[interval]
        if now >= open_time + seconds:
            return self.final(pair, interval, open_time)
        if interval == "1m":
            return minute_partial(self.final(pair, "1m", open_time), (now - open_time) / 60, open_time)
        child = ORDER[ORDER.index(interval) + 1]
        child_seconds = LEVELS[child][0]
        current = open_time + int(now - open_time) // child_seconds * child_seconds
        parts = [self.final(pair, child, t) for t in range(open_time, current, child_seconds)]
        parts.append(self.state(pair, child, current, now))
        return (
            parts[0][OPEN],
            max(p[HIGH] for p in parts),
            min(p[LOW] for p in parts),
            parts[-1][CLOSE],
            sum(p[VOLUME] for p in parts),
        )

    def price(self, pair: str, now: float) -> int:
        minute = int(now) - int(now) % 60
        return self.state(pair, "1m", minute, now)[CLOSE]


def _fraction(index: int, salt: int) -> float:
    """A deterministic number in [0, 1) for a minute (no random generator on the hot path)."""
    x = (index * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 31)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (x >> 11) / 2**53


def minute_partial(final: tuple[int, ...], fraction: float, open_time: int) -> tuple[int, int, int, int, int]:
    """A minute ``fraction`` of the way through: its price runs open -> one extreme -> the other -> close."""
    o, h, lo, c, v = final
    first = 0.1 + 0.35 * _fraction(open_time, 1)
    second = first + (0.9 - first) * _fraction(open_time, 2)
    extremes = (h, lo) if _fraction(open_time, 3) < 0.5 else (lo, h)
    path = [(0.0, o), (first, extremes[0]), (second, extremes[1]), (1.0, c)]
    price = o
    for (t0, p0), (t1, p1) in itertools.pairwise(path):
        if fraction <= t1:
            price = round(p0 + (p1 - p0) * (fraction - t0) / (t1 - t0))
            break
    visited = [p for t, p in path if t <= fraction] + [price]
    return o, max(visited), min(visited), price, int(v * fraction)
