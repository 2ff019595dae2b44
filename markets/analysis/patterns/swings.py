"""Swing points: the zig-zag of a bar series at a reversal threshold, in log prices.

A swing high is confirmed once price has fallen ``threshold`` below it (and a low once price has
risen that much); the last swing is the running extreme, not yet confirmed, as on a live chart.
Thresholds are multiples of the series' noise (the typical one-bar move), so the same pattern is
found the same way at any price scale and volatility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The typical one-bar move: the median absolute log return, scaled to a normal's standard deviation.
MEDIAN_TO_SIGMA = 1 / 0.6745
MIN_SWING_BARS = 3


@dataclass(frozen=True, slots=True)
class Bars:
    """Log highs and lows of the bars looked at, the tops and bottoms of their bodies, and their noise (the
    typical one-bar move)."""

    highs: list[float]
    lows: list[float]
    noise: float
    tops: list[float]  # max(open, close)
    bottoms: list[float]  # min(open, close)

    def mirrored(self) -> Bars:
        """The chart upside down: prices negated, highs and lows (and body tops and bottoms) swapped."""

        def negated(prices: list[float]) -> list[float]:
            return [-p for p in prices]

        return Bars(negated(self.lows), negated(self.highs), self.noise, negated(self.bottoms), negated(self.tops))


@dataclass(frozen=True, slots=True)
class Swings:
    """Alternating swing points, oldest first: bar index, log price and whether each is a high.

    ``sign`` is 1 for the chart as it is and -1 for the mirrored chart (prices negated, highs and lows
    swapped), so one matcher written for tops finds bottoms too.
    """

    index: list[int]
    price: list[float]
    high: list[bool]
    bars: Bars
    strengths: list[float]  # of the leg into each swing (0.0 for the first)
    sign: int = 1

    def mirrored(self, bars: Bars) -> Swings:
        """These swings on the mirrored chart, whose ``bars`` the caller passes (shared between scales)."""
        price, high = [-p for p in self.price], [not h for h in self.high]
        return Swings(self.index, price, high, bars, self.strengths, -self.sign)

    @property
    def noise(self) -> float:
        return self.bars.noise

    @property
    def last(self) -> int:
        return len(self.bars.highs) - 1

    def clarity(self, first: int, last: int) -> tuple[float, float]:
        """The weakest and the typical (geometric mean) strength of the legs from swing ``first`` to ``last``."""
        strengths = self.strengths[first + 1 : last + 1]
        return min(strengths), math.exp(sum(map(math.log, strengths)) / len(strengths))

    def strength(self, k: int) -> float:
        return self.strengths[k]


def noise_level(log_closes: np.ndarray) -> float:
    """The typical one-bar move of log closes (0.0 for a flat series)."""
    moves = np.abs(np.diff(log_closes))
    typical = float(np.median(moves)) * MEDIAN_TO_SIGMA
    return typical if typical > 0 else float(moves.mean())


def swings_find(bars: Bars, threshold: float) -> Swings:
    """The swings of ``bars`` at a reversal ``threshold`` (in log price)."""
    index, price, high = zigzag(bars.highs, bars.lows, threshold)
    return Swings(index, price, high, bars, leg_strengths(index, price, bars.noise))


def leg_strengths(index: list[int], price: list[float], noise: float) -> list[float]:
    """Each leg in random-walk moves: its size / (noise * sqrt(its bars)).

    A leg counts as at least three bars: a jump in one or two bars is a big bar, not a swing.
    """
    strengths = [0.0]
    for k in range(1, len(index)):
        bars = max(index[k] - index[k - 1], MIN_SWING_BARS)
        strengths.append(max(abs(price[k] - price[k - 1]) / (noise * math.sqrt(bars)), 1e-12))
    return strengths


def zigzag(highs: list[float], lows: list[float], threshold: float) -> tuple[list[int], list[float], list[bool]]:
    """Swing points of the bars at ``threshold``: indices, prices and high/low flags, alternating."""
    index: list[int] = []
    price: list[float] = []
    high: list[bool] = []

    def confirm(at: int, value: float, is_high: bool) -> None:
        index.append(at)
        price.append(value)
        high.append(is_high)

    top, top_at, bottom, bottom_at = highs[0], 0, lows[0], 0
    trend = 0  # 1: rising (tracking a high), -1: falling (tracking a low), 0: not yet known
    for i in range(1, len(highs)):
        h, lo = highs[i], lows[i]
        if trend == 1:
            if h > top:
                top, top_at = h, i
            elif top - lo >= threshold:
                confirm(top_at, top, True)
                trend, bottom, bottom_at = -1, lo, i
        elif trend == -1:
            if lo < bottom:
                bottom, bottom_at = lo, i
            elif h - bottom >= threshold:
                confirm(bottom_at, bottom, False)
                trend, top, top_at = 1, h, i
        else:
            if h > top:
                top, top_at = h, i
            if lo < bottom:
                bottom, bottom_at = lo, i
            if top - bottom >= threshold:
                # The first swing is whichever extreme came first.
                trend = -1 if top_at < bottom_at else 1
                confirm(*((top_at, top, True) if trend == -1 else (bottom_at, bottom, False)))
    # The running extreme: the last swing, not yet confirmed.
    if trend == 1:
        confirm(top_at, top, True)
    elif trend == -1:
        confirm(bottom_at, bottom, False)
    return index, price, high
