"""Reversal patterns: double tops and head and shoulders, written for tops.

Run on mirrored swings they find double bottoms and inverse head and shoulders. Each matcher looks
at the swings ending at swing ``end`` (a low: the return to the neckline) and scores the geometry;
``None`` when the swings cannot be the pattern at all.
"""

from __future__ import annotations

from markets.analysis.patterns.geometry import Match, product, ramp
from markets.analysis.patterns.swings import Swings

BEARISH = {1: "bearish", -1: "bullish"}


def legs_clean(swings: Swings, first: int, last: int, *, weakest: float, typical: float) -> float:
    """How clearly the legs from swing ``first`` to ``last`` stand out of the noise: 0 when the weakest
    (or the typical) leg is half a random-walk move short of ``weakest`` (``typical``), 1 at them."""
    least, usual = swings.clarity(first, last)
    return ramp(least, weakest - 0.5, weakest) * ramp(usual, typical - 0.5, typical)


def later_high_breaks(swings: Swings, end: int, level: float) -> bool:
    """Whether a high after swing ``end`` went above ``level`` (the pattern failed)."""
    return any(swings.high[k] and swings.price[k] > level for k in range(end + 1, len(swings.price)))


def double_top(swings: Swings, end: int) -> Match | None:
    """The rise into the first top, the valley, a second top as high, and the fall back to the valley."""
    start = end - 4
    if start < 0 or swings.high[end]:
        return None
    a, b, c, d, e = swings.price[start : end + 1]
    ia, ib, ic, id_, ie = swings.index[start : end + 1]
    height = (b + d) / 2 - c
    if height <= 0 or later_high_breaks(swings, end, max(b, d)):
        return None
    terms = {
        "tops alike": ramp(abs(b - d) / height, 0.3, 0.1),
        "rise from below the valley": ramp((c - a) / height, -0.2, 0.2),
        "back at the neckline": ramp((d - e) / height, 0.8, 0.95),
        "tops balanced in time": ramp(min(ic - ib, id_ - ic) / max(ic - ib, id_ - ic), 0.2, 0.45),
        # Four legs: each should be plain; the more legs, the more a weak one is to be expected.
        "clean legs": legs_clean(swings, start, end, weakest=2.1, typical=2.8),
    }
    confidence = product(terms)
    if confidence <= 0:
        return None
    weakest, typical = swings.clarity(start, end)
    measures = {
        "tops apart": abs(b - d) / height,
        "second top higher": (d - b) / height,
        "rise from below the valley": (c - a) / height,
        "back at the neckline": (d - e) / height,
        "tops balanced in time": min(ic - ib, id_ - ic) / max(ic - ib, id_ - ic),
        "valley depth": height / max(b - a, height),
        "weakest leg": weakest,
        "typical leg": typical,
    }
    extreme = "top" if swings.sign == 1 else "bottom"
    points = [
        (ia, a, "start"),
        (ib, b, f"first {extreme}"),
        (ic, c, "neckline"),
        (id_, d, f"second {extreme}"),
        (ie, e, "end"),
    ]
    return Match("double_top", BEARISH[swings.sign], confidence, points, c, c - height, terms, measures)


def head_and_shoulders(swings: Swings, end: int) -> Match | None:
    """Left shoulder, head, right shoulder above a neckline through the two troughs, then back to it."""
    start = end - 6
    if start < 0 or swings.high[end]:
        return None
    a, ls, n1, hd, n2, rs, e = swings.price[start : end + 1]
    ia, ils, in1, ihd, in2, irs, ie = swings.index[start : end + 1]
    slope = (n2 - n1) / (in2 - in1)

    def neck(i: int) -> float:
        return n1 + slope * (i - in1)

    height = hd - neck(ihd)
    if height <= 0 or later_high_breaks(swings, end, hd):
        return None
    left, right = ls - neck(ils), rs - neck(irs)
    terms = {
        "head above shoulders": ramp((hd - max(ls, rs)) / height, 0.0, 0.12),
        "shoulders above neckline": ramp(min(left, right) / height, 0.1, 0.3),
        "shoulders alike": ramp(abs(ls - rs) / height, 0.45, 0.2),
        "neckline not steep": ramp(abs(n2 - n1) / height, 0.45, 0.2),
        "rise from below the neckline": ramp((neck(ia) - a) / height, -0.1, 0.2),
        "back at the neckline": ramp((rs - e) / (rs - neck(ie)) if rs > neck(ie) else 0.0, 0.6, 0.9),
        "shoulders balanced in time": ramp(min(ihd - ils, irs - ihd) / max(ihd - ils, irs - ihd), 0.25, 0.5),
        "clean legs": legs_clean(swings, start, end, weakest=1.9, typical=2.6),
    }
    confidence = product(terms)
    if confidence <= 0:
        return None
    weakest, typical = swings.clarity(start, end)
    measures = {
        "head above shoulders": (hd - max(ls, rs)) / height,
        "shoulders above neckline": min(left, right) / height,
        "shoulders apart": abs(ls - rs) / height,
        "neckline rise": (n2 - n1) / height,
        "rise from below the neckline": (neck(ia) - a) / height,
        "back at the neckline": (rs - e) / (rs - neck(ie)),
        "shoulders balanced in time": min(ihd - ils, irs - ihd) / max(ihd - ils, irs - ihd),
        "weakest leg": weakest,
        "typical leg": typical,
    }
    points = [
        (ia, a, "start"),
        (ils, ls, "left shoulder"),
        (in1, n1, "neckline"),
        (ihd, hd, "head"),
        (in2, n2, "neckline"),
        (irs, rs, "right shoulder"),
        (ie, e, "end"),
    ]
    breakout = neck(swings.last)
    direction = BEARISH[swings.sign]
    return Match("head_and_shoulders", direction, confidence, points, breakout, breakout - height, terms, measures)
