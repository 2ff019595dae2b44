"""The detector: swings at several thresholds, and every matcher on the swings that end near the last bar."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from markets.analysis.patterns.consolidations import flags_and_pennants
from markets.analysis.patterns.geometry import Match
from markets.analysis.patterns.pattern import Pattern
from markets.analysis.patterns.reversals import double_top, head_and_shoulders
from markets.analysis.patterns.scoring import confidences, in_context
from markets.analysis.patterns.swings import Bars, Swings, noise_level, swings_find
from markets.analysis.patterns.triangles import triangles
from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME

MIN_BARS = 30
WINDOW = 300  # bars looked at: the longest patterns span about half of it
LIVE_BARS = 20  # a pattern is reported while its last swing is at most this many bars old
CONFIDENCE_THRESHOLD = 0.5  # the confidence the accuracy figures are measured at
SCALES = (2.0, 3.0, 4.5, 6.75, 10.0)  # zig-zag thresholds, in one-bar moves
RECENT_SWINGS = 16  # more than any matcher looks back from the last swing
FLOOR = 0.05  # matches below this confidence are not reported
PART_OF_LARGER = 0.75  # share of a match's swings that, inside a larger match, make it a part of that one
DOMINANCE_MARGIN = 0.15  # ...if the larger one's confidence is at most this much lower
TRIANGLES = {"ascending_triangle", "symmetrical_triangle"}  # readings of the same lines: none is part of another
MIRRORED = {
    "double_top": "double_bottom",
    "head_and_shoulders": "inverse_head_and_shoulders",
    "bull_flag": "bear_flag",
    "ascending_triangle": "descending_triangle",
}


def detect_patterns(bars: np.ndarray, *, min_confidence: float = 0.0) -> list[Pattern]:
    """Chart patterns live at the last bar (one per kind, the best fit), by end time then confidence."""
    matches = candidates(bars)
    if not matches:
        return []
    scores = confidences([match for match, _ in matches])
    matches = [(replace(match, confidence=c), sign) for (match, sign), c in zip(matches, scores, strict=True)]
    found = findings(matches, bars[-WINDOW:])
    found = [p for p in found if p.confidence >= min_confidence]
    return sorted(found, key=lambda p: (p.end_time, p.confidence))


def candidates(bars: np.ndarray) -> list[tuple[Match, int]]:
    """Every match of every matcher live at the last bar, with its geometric confidence (no findings yet)."""
    if bars.ndim != 2 or bars.shape[1] <= CLOSE or len(bars) < MIN_BARS:
        return []
    window = bars[-WINDOW:]
    prices = window[:, OPEN : CLOSE + 1]
    if not np.isfinite(prices).all() or (prices <= 0).any():
        return []
    opens, highs, lows, closes = np.log(prices).T
    noise = noise_level(closes)
    if not noise > 0:
        return []
    tops, bottoms = np.maximum(opens, closes), np.minimum(opens, closes)
    return _matches(Bars(highs.tolist(), lows.tolist(), noise, tops.tolist(), bottoms.tolist()))


def findings(matches: list[tuple[Match, int]], window: np.ndarray) -> list[Pattern]:
    """The findings among scored matches: parts of larger ones dropped, the best of each kind, no
    contradictions."""
    best: dict[str, tuple[Match, int]] = {}
    for match, sign in undominated([m for m in matches if m[0].confidence >= FLOOR]):
        kind = MIRRORED.get(match.kind, match.kind) if sign < 0 else match.kind
        if kind not in best or match.confidence > best[kind][0].confidence:
            best[kind] = (match, sign)
    return _consistent([_pattern(kind, match, sign, window) for kind, (match, sign) in best.items()])


def _consistent(found: list[Pattern]) -> list[Pattern]:
    """Drop a finding contradicted by a better one: the opposite direction over overlapping bars
    (the same zig-zag read as both a double top and a double bottom tells a trader nothing)."""

    def contradicts(other: Pattern, pattern: Pattern) -> bool:
        opposite = {pattern.direction, other.direction} == {"bullish", "bearish"}
        overlap = other.start_time <= pattern.end_time and pattern.start_time <= other.end_time
        return opposite and overlap and other.confidence > pattern.confidence

    return [p for p in found if not any(contradicts(other, p) for other in found)]


def undominated(matches: list[tuple[Match, int]]) -> list[tuple[Match, int]]:
    """Drop each match that is part of a larger one: most of its swings belong to a match of more swings
    that fits nearly as well (the right half of a head and shoulders is not also a triangle).

    A triangle is not part of a larger triangle: a few more touches of the walk after a triangle make another
    reading of the same lines (a symmetrical triangle extended into a descending one), and the more
    confident of the two is the finding."""
    swings = [{i for i, _, _ in m.points} for m, _ in matches]
    kept = []
    for (match, sign), own in zip(matches, swings, strict=True):
        dominated = any(
            not (match.kind in TRIANGLES and larger.kind in TRIANGLES)
            and len(other) > len(own)
            and len(own & other) >= PART_OF_LARGER * len(own)
            and larger.confidence >= match.confidence - DOMINANCE_MARGIN
            for (larger, _), other in zip(matches, swings, strict=True)
        )
        if not dominated:
            kept.append((match, sign))
    return kept


def _matches(bars: Bars) -> list[tuple[Match, int]]:
    """Every match at every threshold, on the chart as it is and mirrored (with the orientation's sign)."""
    found = []
    mirrored = bars.mirrored()
    seen = set()
    for scale in SCALES:
        swings = swings_find(bars, scale * bars.noise)
        # The matchers look at the last swings only: a scale that ends in the same swings finds the same.
        recent = tuple(swings.index[-RECENT_SWINGS:])
        if recent in seen:
            continue
        seen.add(recent)
        upside_down = swings.mirrored(mirrored)
        for oriented in (swings, upside_down):
            found.extend((in_context(match, oriented, scale), oriented.sign) for match in _matches_at(oriented))
        # A triangle window is the same either way up: it is found once and read both ways.
        for end in _live_ends(swings):
            found.extend(
                (in_context(match, swings, scale), sign) for match, sign in triangles(swings, upside_down, end)
            )
    return found


def _live_ends(swings: Swings) -> Iterator[int]:
    """The swings of the last ``LIVE_BARS`` bars, newest first: where a live pattern can end."""
    end = len(swings.index) - 1
    while end >= 0 and swings.index[end] >= swings.last - LIVE_BARS:
        yield end
        end -= 1


def _matches_at(swings: Swings) -> Iterator[Match]:
    """Every pattern but triangles whose last swing is one of the swings of the last ``LIVE_BARS`` bars."""
    for end in _live_ends(swings):
        for match in (double_top(swings, end), head_and_shoulders(swings, end)):
            if match is not None:
                yield match
        yield from flags_and_pennants(swings, end)


def _pattern(kind: str, match: Match, sign: int, window: np.ndarray) -> Pattern:
    """The match in the chart's own terms: times, the bars' own prices at its points, the kind's name."""
    points = [(int(window[i, TIME]), _price_at(window[i], sign * p), label) for i, p, label in match.points]
    return Pattern(
        kind=kind,
        direction=match.direction,
        confidence=round(match.confidence, 4),
        start_time=points[0][0],
        end_time=points[-1][0],
        points=points,
        breakout=math.exp(sign * match.breakout),
        target=math.exp(sign * match.target),
    )


def _price_at(bar: np.ndarray, log_price: float) -> float:
    """The bar's high or low, whichever ``log_price`` (a swing of the bar) was taken from."""
    high, low = float(bar[HIGH]), float(bar[LOW])
    return high if abs(math.log(high) - log_price) <= abs(math.log(low) - log_price) else low
