"""The triangle matcher's measures: lines through the wicks and through the bodies, and how far to trust them."""

from __future__ import annotations

import numpy as np
import pytest

from markets.analysis.patterns.consolidations import channel_fit
from markets.analysis.patterns.swings import Bars, Swings, leg_strengths
from markets.analysis.patterns.triangles import body_touch, line_rises, line_spread, median_slope

# An ascending triangle in log prices: a flat top at 0.0 over lows rising from -0.1 to -0.04.
TOUCHES = [(0, 0.0), (10, -0.1), (20, 0.0), (28, -0.07), (36, 0.0), (42, -0.04), (48, 0.0)]
WICK = 0.002  # the ordinary wick: highs and lows this far beyond the bodies


def swings_through(touches: list[tuple[int, float]], *, long_wicks: dict[int, float] | None = None) -> Swings:
    """Swings at ``touches`` (a high first), on bars whose closes run straight between them; ``long_wicks``:
    bar -> how far that bar's wick reaches beyond the ordinary one."""
    at, prices = zip(*touches, strict=True)
    closes = np.interp(np.arange(at[-1] + 1), at, prices)
    opens = np.r_[closes[0], closes[:-1]]
    tops, bottoms = np.maximum(opens, closes), np.minimum(opens, closes)
    highs, lows = tops + WICK, bottoms - WICK
    for bar, extra in (long_wicks or {}).items():
        if bar in at[::2]:
            highs[bar] += extra
        else:
            lows[bar] -= extra
    bars = Bars(highs.tolist(), lows.tolist(), 0.01, tops.tolist(), bottoms.tolist())
    high = [k % 2 == 0 for k in range(len(at))]
    price = [highs[i] if h else lows[i] for i, h in zip(at, high, strict=True)]
    return Swings(list(at), price, high, bars, leg_strengths(list(at), price, bars.noise))


def test_a_long_wick_tilts_the_line_through_the_wicks_but_not_the_one_through_the_bodies():
    wicked = swings_through(TOUCHES, long_wicks={36: 0.03})
    last = len(TOUCHES) - 1
    channel = channel_fit(wicked, 0, last)

    rises = line_rises(wicked, 0, last, channel)

    assert body_touch(wicked, 4) == (36, 0.0)  # the top of the body under the long wick
    assert rises["bodies"][0] == pytest.approx(0.0, abs=1e-9)  # the flat top, wick or no wick
    assert rises["bodies"][1] > 0.5  # the rising lows
    assert rises[""][0] > 0.05  # the wick line leans up towards the long wick
    assert rises[""] == (channel.rise(channel.upper), channel.rise(channel.lower))


def test_lines_without_the_first_or_last_touch_leave_out_a_stray_touch():
    stray = [*TOUCHES[:-1], (48, 0.03)]  # the last high overshoots the flat top
    swings = swings_through(stray)
    last = len(stray) - 1

    rises = line_rises(swings, 0, last, channel_fit(swings, 0, last))

    assert rises["without the last touch"][0] == pytest.approx(0.0, abs=1e-9)
    assert rises[""][0] > 0.05
    assert rises["bodies without the last touch"][0] == pytest.approx(0.0, abs=1e-9)


def test_line_spread_counts_each_lines_touches_and_their_distance_from_it():
    swings = swings_through(TOUCHES)
    last = len(TOUCHES) - 1
    channel = channel_fit(swings, 0, last)

    upper = line_spread(swings, 0, last, channel, high=True)
    lower = line_spread(swings, 0, last, channel, high=False)

    assert upper == {"touches": 4.0, "spread": pytest.approx(0.0, abs=1e-9)}
    assert lower["touches"] == 3.0
    # The lows (-0.1, -0.07, -0.04 at bars 10, 28, 42) are not quite on one line: a small spread.
    assert 0.0 < lower["spread"] < 0.05


def test_median_slope_is_the_slope_of_most_touches_whatever_one_stray_touch_does():
    on_line = [(0, 1.0), (10, 1.5), (20, 2.0), (30, 2.5)]

    assert median_slope(on_line) == pytest.approx(0.05)
    assert median_slope([*on_line, (40, 9.0)]) == pytest.approx(0.05)
    assert median_slope([(5, 1.0), (5, 2.0)]) == 0.0  # no two touches apart in time
