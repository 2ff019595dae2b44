"""Support and resistance: classic pivot points of the previous period, and swing levels.

Pivots use the previous *day* for the 1m to 1h charts, the previous *week* (Monday 00:00 UTC, as
exchanges' weekly candles) for 4h and the previous calendar *month* for 1d: the period a trader
of that chart looks back on, long enough to hold many of its bars. They are computed from the
stored daily bars.

Swing levels are fractal highs and lows (a bar's high above the ``window`` bars on each side, or
its low below them), clustered when they lie within a tolerance of each other; a level's touches
are the swings in its cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from markets.candles import CLOSE, HIGH, LOW, TIME

DAY = 86400
PIVOT_PERIODS = {"1m": "day", "5m": "day", "15m": "day", "1h": "day", "4h": "week", "1d": "month"}
LEVELS_PER_SIDE = 3


def pivots_classic(*, high: float, low: float, close: float) -> dict[str, float]:
    """Floor-trader pivots of a period with this high, low and close."""
    pivot = (high + low + close) / 3
    return {
        "P": pivot,
        "R1": 2 * pivot - low,
        "S1": 2 * pivot - high,
        "R2": pivot + (high - low),
        "S2": pivot - (high - low),
        "R3": high + 2 * (pivot - low),
        "S3": low - 2 * (high - pivot),
    }


def pivot_period(*, timeframe: str, reference: int) -> tuple[int, int]:
    """[start, end) in epoch seconds of the period before the one holding ``reference``."""
    period = PIVOT_PERIODS[timeframe]
    moment = datetime.fromtimestamp(reference, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        end = moment
        start = end - timedelta(days=1)
    elif period == "week":
        end = moment - timedelta(days=moment.weekday())
        start = end - timedelta(days=7)
    else:
        end = moment.replace(day=1)
        start = (end - timedelta(days=1)).replace(day=1)
    return int(start.timestamp()), int(end.timestamp())


def pivots_compute(*, daily: np.ndarray, timeframe: str, reference: int) -> dict:
    """Pivots from the daily bars of the previous period, or null with the reason when none are stored."""
    start, end = pivot_period(timeframe=timeframe, reference=reference)
    period = {"basis": f"previous {PIVOT_PERIODS[timeframe]}", "start": start, "end": end}
    inside = daily[(daily[:, TIME] >= start) & (daily[:, TIME] < end)] if len(daily) else daily
    if not len(inside):
        return {**period, "value": None, "reason": f"no daily bars stored for the previous {PIVOT_PERIODS[timeframe]}"}
    extremes = {"high": float(inside[:, HIGH].max()), "low": float(inside[:, LOW].min())}
    close = float(inside[-1, CLOSE])
    return {**period, "value": pivots_classic(**extremes, close=close), **extremes, "close": close}


@dataclass(frozen=True)
class SwingLevel:
    """A price where swings turned ``touches`` times, between ``first_time`` and ``last_time``."""

    price: float
    touches: int
    first_time: int
    last_time: int

    def as_dict(self, *, kind: str) -> dict:
        return {
            "price": self.price,
            "kind": kind,
            "touches": self.touches,
            "first_time": self.first_time,
            "last_time": self.last_time,
        }


def swing_points(*, bars: np.ndarray, window: int) -> np.ndarray:
    """(time, price) of every fractal high and low, by time: a bar whose high (low) is the extreme
    of the ``window`` bars on each side; of equal neighbours only the first counts."""
    if len(bars) < 2 * window + 1:
        return np.empty((0, 2))
    inner = slice(window, len(bars) - window)
    highs, lows = bars[:, HIGH], bars[:, LOW]
    high_windows, low_windows = sliding_window_view(highs, 2 * window + 1), sliding_window_view(lows, 2 * window + 1)
    is_high = (highs[inner] > high_windows[:, :window].max(axis=1)) & (highs[inner] >= high_windows.max(axis=1))
    is_low = (lows[inner] < low_windows[:, :window].min(axis=1)) & (lows[inner] <= low_windows.min(axis=1))
    times = bars[inner, TIME]
    tops = np.column_stack([times[is_high], highs[inner][is_high]])
    bottoms = np.column_stack([times[is_low], lows[inner][is_low]])
    points = np.concatenate([tops, bottoms])
    return points[np.argsort(points[:, 0], kind="stable")]


def swing_levels(*, bars: np.ndarray, window: int, tolerance: float) -> list[SwingLevel]:
    """Swing points clustered by price: a cluster spans at most ``tolerance``; by price, low to high."""
    points = swing_points(bars=bars, window=window)
    points = points[np.argsort(points[:, 1], kind="stable")]
    levels, start = [], 0
    for i in range(1, len(points) + 1):
        if i == len(points) or points[i, 1] - points[start, 1] > tolerance:
            cluster = points[start:i]
            levels.append(
                SwingLevel(
                    price=float(cluster[:, 1].mean()),
                    touches=len(cluster),
                    first_time=int(cluster[:, 0].min()),
                    last_time=int(cluster[:, 0].max()),
                )
            )
            start = i
    return levels


def levels_around(
    *, levels: list[SwingLevel], price: float | None, per_side: int = LEVELS_PER_SIDE
) -> dict[str, list[dict]]:
    """The strongest levels below ``price`` (support) and above it (resistance), nearest first.

    Strongest means most touches, then nearest; a level at the price itself counts as neither.
    """
    if price is None:
        return {"support": [], "resistance": []}

    def strongest(side: list[SwingLevel]) -> list[SwingLevel]:
        ranked = sorted(side, key=lambda level: (-level.touches, abs(level.price - price)))[:per_side]
        return sorted(ranked, key=lambda level: abs(level.price - price))

    support = strongest([level for level in levels if level.price < price])
    resistance = strongest([level for level in levels if level.price > price])
    return {
        "support": [level.as_dict(kind="support") for level in support],
        "resistance": [level.as_dict(kind="resistance") for level in resistance],
    }
