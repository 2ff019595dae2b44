"""Sparklines drawn on the server: a series of prices as a small inline SVG, so that a watchlist of
hundreds of coins needs no chart script and no request per row.

The line spans the box from the first value (left) to the last (right), the lowest value at the
bottom and the highest at the top; it is green when the series ends at or above where it began,
red otherwise (the ``spark up`` / ``spark down`` classes; a stroke attribute for any page without
the stylesheet). Values that are not finite numbers are left out.
"""

from __future__ import annotations

import math

from django.utils.html import format_html
from django.utils.safestring import SafeString

STROKE = 1.5
COLOURS = {"up": "#16c784", "down": "#ea3943", "flat": "#8a93a6"}


def sparkline_svg(values: list[float], *, width: int = 120, height: int = 32) -> SafeString:
    """``values`` as an SVG polyline in a ``width`` by ``height`` box; an empty box (marked
    ``spark empty``) when fewer than two values are usable."""
    series = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
    if len(series) < 2:
        return format_html(
            '<svg class="spark empty" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}"></svg>',
            width,
            height,
            width,
            height,
            "No price history for the last 7 days",
        )
    trend = "up" if series[-1] > series[0] else "down" if series[-1] < series[0] else "flat"
    return format_html(
        '<svg class="spark {}" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<polyline fill="none" stroke="{}" stroke-width="{}" stroke-linejoin="round" stroke-linecap="round" '
        'points="{}"/></svg>',
        trend,
        width,
        height,
        width,
        height,
        _label(series),
        COLOURS[trend],
        STROKE,
        sparkline_points(series, width=width, height=height),
    )


def sparkline_points(series: list[float], *, width: float, height: float) -> str:
    """The polyline's points, "x,y x,y …", inset by half the stroke so that no peak is clipped."""
    pad = STROKE / 2
    low, high = min(series), max(series)
    span = high - low
    step = (width - 2 * pad) / (len(series) - 1)
    points = []
    for i, value in enumerate(series):
        # A flat series is drawn across the middle.
        share = (value - low) / span if span else 0.5
        y = pad + (1 - share) * (height - 2 * pad)
        points.append(f"{_short(pad + i * step)},{_short(y)}")
    return " ".join(points)


def _short(number: float) -> str:
    """A coordinate to two decimals, without trailing zeros (the SVG of 500 rows stays small)."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _label(series: list[float]) -> str:
    change = (series[-1] - series[0]) / series[0] * 100 if series[0] else 0.0
    return f"7-day price: {change:+.2f}% (low {min(series):g}, high {max(series):g})"
