"""Consolidations between two trend lines: the channel through a run of swings, and flags and pennants after a pole.

Written for the rising case (bull flags, pennants after a rise); run on mirrored swings they find bear flags
and pennants after a fall. At each last swing the flag matcher first picks the window of touches that best
makes a consolidation after a pole, then scores that window as each kind, with complementary terms where
two kinds meet (parallel or converging lines). Triangles, the other consolidation, are in ``triangles``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markets.analysis.patterns.geometry import Line, Match, line_fit, product, ramp
from markets.analysis.patterns.swings import MIN_SWING_BARS, Swings

BULLISH = {1: "bullish", -1: "bearish"}
MAX_POLE_BARS = 40
CONSOLIDATION_TOUCHES = (4, 5, 6, 7)  # after a pole, its top included


@dataclass(frozen=True, slots=True)
class Channel:
    """Lines fitted through the highs and through the lows of a run of swings."""

    upper: Line
    lower: Line
    first: int  # bar index of the first touch
    last: int  # bar index of the last touch
    misfit: float  # the largest distance of a touch from its line, in widths at the first touch

    def width(self, bar: float) -> float:
        return self.upper.at(bar) - self.lower.at(bar)

    def rise(self, line: Line) -> float:
        """How far ``line`` climbs from the first touch to the last, in widths at the first touch."""
        return (line.at(self.last) - line.at(self.first)) / self.width(self.first)

    def mirrored(self) -> Channel:
        """The channel on the chart upside down: the lines negated, the upper one below."""
        upper, lower = (Line(-line.slope, -line.intercept) for line in (self.lower, self.upper))
        return Channel(upper, lower, self.first, self.last, self.misfit)

    def edge(self, line: Line, bar: int) -> float:
        """``line`` at ``bar``, or at the apex if the lines meet before it."""
        if self.width(bar) <= 0:
            bar = (self.lower.intercept - self.upper.intercept) / (self.upper.slope - self.lower.slope)
        return line.at(bar)


Window = tuple[dict[str, float], int, Channel, dict[str, float]]  # kind-free terms, first touch, lines, measures


def channel_fit(swings: Swings, start: int, end: int) -> Channel | None:
    """Lines through the highs and the lows of swings ``start..end``; ``None`` unless they are apart."""
    highs = [k for k in range(start, end + 1) if swings.high[k]]
    lows = [k for k in range(start, end + 1) if not swings.high[k]]
    if len(highs) < 2 or len(lows) < 2:
        return None
    upper = line_fit([swings.index[k] for k in highs], [swings.price[k] for k in highs])
    lower = line_fit([swings.index[k] for k in lows], [swings.price[k] for k in lows])
    first, last = swings.index[start], swings.index[end]
    width = upper.at(first) - lower.at(first)
    if width <= 0 or upper.at(last) <= lower.at(last):
        return None
    misfit = max(
        abs(swings.price[k] - (upper if swings.high[k] else lower).at(swings.index[k])) for k in range(start, end + 1)
    )
    return Channel(upper, lower, first, last, misfit / width)


def continues(swings: Swings, channel: Channel, end: int) -> bool:
    """Whether the swing after ``end`` stays between the lines: the consolidation goes on past ``end``."""
    k = end + 1
    if k >= len(swings.index):
        return False
    bar = swings.index[k]
    return swings.price[k] <= channel.upper.at(bar) if swings.high[k] else swings.price[k] >= channel.lower.at(bar)


def swing(swings: Swings, k: int) -> float:
    """The size of the leg into swing ``k``."""
    return abs(swings.price[k] - swings.price[k - 1])


def legs_clean(swings: Swings, start: int, end: int) -> float:
    """How clearly the legs between touches stand out of the noise; a squeeze's late legs may be faint."""
    weakest, typical = swings.clarity(start, end)
    return ramp(weakest, 0.9, 1.3) * ramp(typical, 1.8, 2.3)


def touch_points(swings: Swings, start: int, end: int) -> list[tuple[int, float, str]]:
    """The touches, labelled with their line as the chart shows it (mirrored swings swap the lines)."""
    return [
        (swings.index[k], swings.price[k], "upper line" if swings.high[k] == (swings.sign == 1) else "lower line")
        for k in range(start, end + 1)
    ]


def best_window(windows: list[Window | None]) -> Window | None:
    found = [w for w in windows if w is not None]
    return max(found, key=lambda w: product(w[0])) if found else None


# --- Flags and pennants ----------------------------------------------------------------------------------


def flags_and_pennants(swings: Swings, end: int) -> list[Match]:
    """A pole up to a top, then the best window of touches ending at swing ``end``, as a flag (a channel
    drifting against the pole) and as a pennant (converging lines)."""
    window = best_window([_pole_window(swings, end - n + 1, end) for n in CONSOLIDATION_TOUCHES])
    if window is None:
        return []
    shape, top, channel, measures = window
    start, bottom = pole_start(swings, top)
    pole = swings.price[top] - bottom
    base = channel.width(channel.first)
    narrowing = channel.width(channel.last) / base
    drift = (channel.rise(channel.upper) + channel.rise(channel.lower)) / 2 * base / pole  # of the midline
    flag = {
        **shape,
        "parallel": ramp(narrowing, 0.25, 0.7),
        "not widening": ramp(narrowing, 3.0, 1.6),
        "drifts against the pole": ramp(drift, 0.0, -0.08),
        "keeps most of the pole": ramp(drift, -0.75, -0.55),
    }
    pennant = {
        **shape,
        "converging": ramp(narrowing, 0.7, 0.45),
        "level": ramp(abs(drift), 0.35, 0.2),
    }
    breakout = channel.edge(channel.upper, swings.last)
    points = [(start, bottom, "pole start"), *touch_points(swings, top, end)]
    direction = BULLISH[swings.sign]
    measures = measures | {"narrowing": narrowing, "drift": drift}
    return [
        Match(kind, direction, product(terms), points, breakout, breakout + pole, terms, measures)
        for kind, terms in (("bull_flag", flag), ("pennant", pennant))
        if product(terms) > 0
    ]


def _pole_window(swings: Swings, top: int, end: int) -> Window | None:
    """How well a pole into swing ``top`` and touches ``top..end`` make a flag or a pennant; ``None`` if not."""
    if top < 1 or not swings.high[top]:
        return None
    clean = legs_clean(swings, top, end)
    channel = channel_fit(swings, top, end) if clean else None
    if channel is None or continues(swings, channel, end):
        return None
    start, bottom = pole_start(swings, top)
    pole, bars = swings.price[top] - bottom, swings.index[top] - start
    if pole <= 0 or bars < 1:
        return None
    lowest = min(swings.price[k] for k in range(top, end + 1))
    weakest, typical = swings.clarity(top, end)
    measures = {
        "pole strength": pole / (swings.noise * math.sqrt(max(bars, MIN_SWING_BARS))),
        "pole steepness": pole / bars / swings.noise,
        "width to pole": channel.width(channel.first) / pole,
        "given back": (swings.price[top] - lowest) / pole,
        "misfit": channel.misfit,
        "touches": end - top + 1,
        "weakest leg": weakest,
        "typical leg": typical,
    }
    shape = {
        "strong pole": ramp(measures["pole strength"], 3.0, 4.5),
        "steep pole": ramp(measures["pole steepness"], 0.6, 1.1),
        "small next to the pole": ramp(measures["width to pole"], 0.65, 0.5),
        "gives back little": ramp(measures["given back"], 1.15, 0.8),
        "touches on the lines": ramp(channel.misfit, 0.3, 0.12),
        "touches": ramp(end - top + 1, -14, 6),  # 4: 0.9, 5: 0.95, 6 or more: 1
        "clean legs": clean,
    }
    return (shape, top, channel, measures) if product(shape) > 0 else None


def pole_start(swings: Swings, top: int) -> tuple[int, float]:
    """Where the pole into swing ``top`` begins: the bar of the leg from which the move is strongest.

    The zig-zag's swing before a pole may lie back in a slow drift; the pole is the steep part.
    """
    peak_at, peak, lows = swings.index[top], swings.price[top], swings.bars.lows
    first = max(swings.index[top - 1], peak_at - MAX_POLE_BARS)
    if first >= peak_at:  # both swings on one bar (an outside bar): no room for a pole
        return first, lows[first]
    best = max(range(first, peak_at), key=lambda i: (peak - lows[i]) / math.sqrt(max(peak_at - i, MIN_SWING_BARS)))
    return best, lows[best]
