"""Geometry of swing points: scores that ramp between two limits, trend lines, and a match."""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import mul


def ramp(value: float, zero: float, one: float) -> float:
    """0 at ``zero``, 1 at ``one``, linear between and flat beyond (``zero > one`` ramps down)."""
    t = (value - zero) / (one - zero)
    return 0.0 if t <= 0 else 1.0 if t >= 1 else t


@dataclass(frozen=True, slots=True)
class Line:
    slope: float
    intercept: float

    def at(self, x: float) -> float:
        return self.intercept + self.slope * x


def line_fit(xs: list[int], ys: list[float]) -> Line:
    """The least-squares line through the points (flat through a single point)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    # Lists and map(mul) rather than generators: this runs tens of thousands of times a scan.
    dx = [x - mx for x in xs]
    sxx = sum(map(mul, dx, dx))
    slope = sum(map(mul, dx, [y - my for y in ys])) / sxx if sxx else 0.0
    return Line(slope, my - slope * mx)


@dataclass(frozen=True, slots=True)
class Match:
    """A pattern found on (possibly mirrored) swings: bar indices and log prices as the matcher saw them."""

    kind: str
    direction: str
    confidence: float
    points: list[tuple[int, float, str]]
    breakout: float
    target: float
    terms: dict[str, float]  # the geometric scores, each 0..1, to explain the confidence
    measures: dict[str, float] = field(default_factory=dict)  # raw measurements the learned scorer reads


def product(terms: dict[str, float]) -> float:
    """The confidence of a match: the product of its terms, each 0..1."""
    result = 1.0
    for value in terms.values():
        result *= value
    return result
