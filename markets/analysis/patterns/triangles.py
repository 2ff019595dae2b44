"""Triangles: touches alternating between two converging trend lines.

Written for the ascending triangle (a flat top over rising lows); run on mirrored swings it finds the
descending triangle. The symmetrical triangle (both lines slope towards each other alike) is its own mirror
image and is looked for on the chart as it is only. Every window of 5 to 8 touches ending at a swing is read
as each kind; the learned scorer (``scoring``) picks the window and the reading.

Which kind a window is turns on how much each line slopes, and a line drawn through a few noisy touches
slopes by chance too. So the scorer gets each line's rise drawn several ways: through the touches' wicks,
from the median slope between touches, through the candle bodies at the touches, and without the first or
the last touch (the swing before the pattern, or the walk after it, tilts the lines of a window that is
otherwise the pattern).
"""

from __future__ import annotations

import math

from markets.analysis.patterns.consolidations import (
    BULLISH,
    Channel,
    Window,
    best_window,
    channel_fit,
    continues,
    legs_clean,
    swing,
    touch_points,
)
from markets.analysis.patterns.geometry import Match, line_fit, product, ramp
from markets.analysis.patterns.swings import Swings

TOUCHES = (5, 6, 7, 8)
BODY_BARS = 2  # a touch's candle body is looked for this many bars either side of its wick
TRIMS = ("without the last touch", "without the first touch")

Rises = dict[str, tuple[float, float]]  # way of drawing the lines: (upper rise, lower rise)
Spreads = dict[str, dict[str, float]]  # "upper" or "lower": that line's touches and their spread


def triangles(swings: Swings, upside_down: Swings, end: int) -> list[tuple[Match, int]]:
    """Every triangle window ending at swing ``end`` (5 to 8 touches), read as an ascending triangle on the chart
    as it is and on ``upside_down`` (a descending one), and as a symmetrical triangle, each with the sign of the
    chart it is read on: the scorer tells which window and reading fit best.

    A window is the same either way up (its lines swap and change sign), so it is found and measured once."""
    windows = [w for w in (_window(swings, end - n + 1, end) for n in TOUCHES) if w is not None]
    if not windows:
        return []
    best = best_window(windows)
    found = []
    for window in windows:
        shape, start, channel, measures = window
        base = channel.width(channel.first)
        measures = measures | {"best window": float(window is best), "noise to width": swings.noise / base}
        rises = line_rises(swings, start, end, channel)
        spreads = {side: line_spread(swings, start, end, channel, high=side == "upper") for side in ("upper", "lower")}
        as_is = (shape, start, channel, measures)
        found += [
            (_ascending(swings, end, as_is, rises, spreads), 1),
            (_symmetrical(swings, end, as_is, rises, spreads), 1),
        ]
        # Upside down, the lines swap and each rise turns round.
        turned = {way: (-lower, -upper) for way, (upper, lower) in rises.items()}
        swapped = {"upper": spreads["lower"], "lower": spreads["upper"]}
        found.append((_ascending(upside_down, end, (shape, start, channel.mirrored(), measures), turned, swapped), -1))
    return [(match, sign) for match, sign in found if match is not None]


def _ascending(swings: Swings, end: int, window: Window, rises: Rises, spreads: Spreads) -> Match | None:
    """Touches ``window`` as an ascending triangle: a flat top next to the rise of the lows."""
    shape, start, channel, measures = window
    upper_rise, lower_rise = rises[""]
    flatness = abs(upper_rise) / lower_rise if lower_rise > 0 else math.inf
    terms = {**shape, "rising lows": ramp(lower_rise, 0.2, 0.4), "flat top": ramp(flatness, 0.9, 0.3)}
    if product(terms) <= 0:
        return None
    breakout = channel.edge(channel.upper, swings.last)
    sides = {_named("upper rise", way): u for way, (u, _) in rises.items()}
    sides |= {_named("lower rise", way): v for way, (_, v) in rises.items()}
    sides |= {f"{side} {what}": value for side, spread in spreads.items() for what, value in spread.items()}
    points = touch_points(swings, start, end)
    target = breakout + channel.width(channel.first)
    return Match(
        "ascending_triangle", BULLISH[swings.sign], product(terms), points, breakout, target, terms, measures | sides
    )


def _symmetrical(swings: Swings, end: int, window: Window, rises: Rises, spreads: Spreads) -> Match | None:
    """Touches ``window`` as a symmetrical triangle: both lines slope towards each other."""
    shape, start, channel, measures = window
    upper_rise, lower_rise = rises[""]
    balance = min(-upper_rise, lower_rise) / max(-upper_rise, lower_rise) if upper_rise < 0 < lower_rise else 0.0
    terms = {**shape, "converging from both sides": ramp(balance, 0.0, 0.2)}
    if product(terms) <= 0:
        return None
    # No direction of its own: the breakout and target are given on the side the price came from.
    up = swings.high[start]
    base = channel.width(channel.first)
    breakout = channel.edge(channel.upper if up else channel.lower, swings.last)
    target = breakout + base if up else breakout - base
    # Mirror-free measures: the chart upside down swaps the lines and turns their rises round.
    sides = {_named("steeper side", way): max(-u, v) for way, (u, v) in rises.items()}
    sides |= {_named("flatter side", way): min(-u, v) for way, (u, v) in rises.items()}
    steeper, flatter = ("upper", "lower") if -upper_rise >= lower_rise else ("lower", "upper")
    for name, side in (("steeper", steeper), ("flatter", flatter)):
        sides |= {f"{name} side {what}": value for what, value in spreads[side].items()}
    points = touch_points(swings, start, end)
    return Match("symmetrical_triangle", "neutral", product(terms), points, breakout, target, terms, measures | sides)


def _named(measure: str, way: str) -> str:
    return f"{measure}, {way}" if way else measure


def line_rises(swings: Swings, start: int, end: int, channel: Channel) -> Rises:
    """The rises of the upper and the lower line through touches ``start..end``, in widths at the first touch,
    each way of drawing them: through the wicks ("", as ``channel`` is), from the median slope ("robust"),
    through the bodies ("bodies"), and through the wicks and through the bodies without the last or the first
    touch."""
    wicks = [(swings.index[k], swings.price[k]) for k in range(start, end + 1)]
    bodies = [body_touch(swings, k) for k in range(start, end + 1)]
    high = swings.high[start : end + 1]
    scale = (channel.last - channel.first) / channel.width(channel.first)
    rises = {
        "": (channel.rise(channel.upper), channel.rise(channel.lower)),
        "robust": tuple(median_slope(points) * scale for points in _lines(wicks, high)),
    }
    for part, touches in (("", slice(None)), *zip(TRIMS, (slice(None, -1), slice(1, None)), strict=True)):
        if part:  # through the wicks at every touch is ``channel`` itself
            rises[part] = _rises(wicks[touches], high[touches], channel, fallback=True)
        rises[f"bodies {part}".rstrip()] = _rises(bodies[touches], high[touches], channel)
    return rises


def _lines(points: list[tuple[int, float]], high: list[bool]) -> tuple[list[tuple[int, float]], ...]:
    """``points`` split into those on the upper line (where ``high``) and those on the lower one."""
    return tuple([p for p, h in zip(points, high, strict=True) if h == side] for side in (True, False))


def body_touch(swings: Swings, k: int) -> tuple[int, float]:
    """Where the line through the bodies touches at swing ``k``: the highest body top within ``BODY_BARS`` of a
    high, the lowest body bottom of a low (a wick's length is noise, which a body is without)."""
    bars, at = swings.bars, swings.index[k]
    near = range(max(at - BODY_BARS, 0), min(at + BODY_BARS, swings.last) + 1)
    if swings.high[k]:
        best = max(near, key=bars.tops.__getitem__)
        return best, bars.tops[best]
    best = min(near, key=bars.bottoms.__getitem__)
    return best, bars.bottoms[best]


def _rises(
    points: list[tuple[int, float]], high: list[bool], channel: Channel, *, fallback: bool = False
) -> tuple[float, float]:
    """The rises of the lines through ``points`` (each on the upper line where ``high``), in widths of ``channel``
    at its first touch; with ``fallback``, ``channel``'s own unless those lines are apart (as ``channel_fit``)."""
    upper, lower = (line_fit(*zip(*line, strict=True)) for line in _lines(points, high))
    first, last = points[0][0], points[-1][0]
    if fallback and (upper.at(first) - lower.at(first) <= 0 or upper.at(last) <= lower.at(last)):
        upper, lower = channel.upper, channel.lower
    scale = (channel.last - channel.first) / channel.width(channel.first)
    return upper.slope * scale, lower.slope * scale


def median_slope(points: list[tuple[int, float]]) -> float:
    """The median slope between pairs of ``points`` (one stray touch does not tilt it); 0.0 with no pair."""
    slopes = sorted((yb - ya) / (xb - xa) for i, (xa, ya) in enumerate(points) for xb, yb in points[i + 1 :] if xb > xa)
    if not slopes:
        return 0.0
    middle = len(slopes) // 2
    return slopes[middle] if len(slopes) % 2 else (slopes[middle - 1] + slopes[middle]) / 2


def line_spread(swings: Swings, start: int, end: int, channel: Channel, *, high: bool) -> dict[str, float]:
    """How many of touches ``start..end`` a line has, and their RMS distance from it in widths at the first
    touch: how far its rise can be trusted."""
    line = channel.upper if high else channel.lower
    touches = [k for k in range(start, end + 1) if swings.high[k] == high]
    squares = math.fsum((swings.price[k] - line.at(swings.index[k])) ** 2 for k in touches)
    return {"touches": float(len(touches)), "spread": math.sqrt(squares / len(touches)) / channel.width(channel.first)}


def _window(swings: Swings, start: int, end: int) -> Window | None:
    """How well touches ``start..end`` make a triangle of some kind; ``None`` if they cannot."""
    if start < 1:
        return None
    first_swings = swing(swings, start + 1) / swing(swings, start + 2)
    evenly = ramp(first_swings, 2.3, 1.7)  # no pole among the swings
    clean = legs_clean(swings, start, end) if evenly else 0.0
    channel = channel_fit(swings, start, end) if clean else None
    if channel is None:
        return None
    base = channel.width(channel.first)
    entry = swing(swings, start) / base
    # How far inside the opposite line the swing into the first touch began (negative: from beyond it).
    opposite = channel.lower if swings.high[start] else channel.upper
    inside = abs(swings.price[start] - opposite.at(channel.first)) / base - entry
    shape = {
        "touches on the lines": ramp(channel.misfit, 0.25, 0.1),
        "touches": ramp(end - start + 1, -13, 7),  # 5: 0.9, 6: 0.95, 7 or more: 1
        "converging": ramp(channel.width(channel.last) / base, 0.8, 0.55),
        "entered from beyond": ramp(inside, 0.5, 0.05),
        "no pole": 1 - _pole_likeness(swings, start, base),
        "swings shrink evenly": evenly,
        "clean legs": clean,
    }
    if product(shape) <= 0:
        return None
    weakest, typical = swings.clarity(start, end)
    measures = {
        "misfit": channel.misfit,
        "touches": end - start + 1,
        "narrowing": channel.width(channel.last) / base,
        "inside": inside,
        "pole likeness": 1 - shape["no pole"],
        "first swings": first_swings,
        "last swing": swing(swings, end) / base,
        "last swing growth": swing(swings, end) / swing(swings, end - 1),
        "weakest leg": weakest,
        "typical leg": typical,
        # Kept, not dropped, when the next swing stays inside: the walk after a triangle often stays inside
        # its narrow end, and a window that takes that walk in as touches is tilted by it.
        "continues": float(continues(swings, channel, end)),
    }
    return shape, start, channel, measures


def _pole_likeness(swings: Swings, start: int, base: float) -> float:
    """How much one of the two legs before touch ``start`` looks like a pole (large and sharp), 0..1."""
    likeness = 0.0
    for k in (start, start - 1):
        if k >= 1:
            likeness = max(likeness, ramp(swing(swings, k) / base, 1.8, 2.6) * ramp(swings.strength(k), 2.5, 4.0))
    return likeness
