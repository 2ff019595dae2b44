"""The server-rendered sparkline: where its points fall, its colour, and what it does with bad input."""

from __future__ import annotations

import re

from django.utils.safestring import SafeString

from watchlists.sparkline import sparkline_svg


def points(svg: str) -> list[tuple[float, float]]:
    found = re.search(r'points="([^"]*)"', svg).group(1)
    return [tuple(float(c) for c in pair.split(",")) for pair in found.split()]


def test_points_span_the_box_lowest_at_the_bottom_highest_at_the_top():
    # width 100, height 20, stroke 1.5: x from 0.75 to 99.25 in steps of 98.5 / 4 = 24.625;
    # y = 0.75 + (1 - (v - 10) / 40) * 18.5
    svg = sparkline_svg([10, 50, 30, 20, 40], width=100, height=20)
    assert points(svg) == [
        (0.75, 19.25),
        (25.38, 0.75),  # 25.375 to two decimals
        (50.0, 10.0),
        (74.62, 14.62),  # 73.875 + 0.75 = 74.625; 0.75 + 0.75 * 18.5 = 14.625
        (99.25, 5.38),  # 0.75 + 0.25 * 18.5 = 5.375
    ]


def test_a_series_that_ends_higher_is_green_lower_is_red_level_is_grey():
    assert 'class="spark up"' in sparkline_svg([1, 0.5, 2]) and 'stroke="#16c784"' in sparkline_svg([1, 2])
    assert 'class="spark down"' in sparkline_svg([2, 3, 1]) and 'stroke="#ea3943"' in sparkline_svg([2, 1])
    assert 'class="spark flat"' in sparkline_svg([2, 1, 2])


def test_a_flat_series_is_drawn_across_the_middle():
    assert points(sparkline_svg([5, 5, 5], width=10, height=10)) == [(0.75, 5.0), (5.0, 5.0), (9.25, 5.0)]


def test_values_that_are_not_finite_numbers_are_left_out():
    svg = sparkline_svg([1.0, float("nan"), None, float("inf"), "7", 3.0], width=10, height=10)
    assert points(svg) == [(0.75, 9.25), (9.25, 0.75)]


def test_fewer_than_two_values_give_an_empty_box_that_says_so():
    for values in ([], [42.0], [float("nan"), 1.0]):
        svg = sparkline_svg(values, width=120, height=32)
        assert "<polyline" not in svg
        assert 'class="spark empty"' in svg and 'aria-label="No price history for the last 7 days"' in svg


def test_it_is_safe_markup_with_the_size_asked_for_and_a_label_in_words():
    svg = sparkline_svg([100, 90, 110], width=96, height=28)
    assert isinstance(svg, SafeString)
    assert svg.startswith('<svg class="spark up" width="96" height="28" viewBox="0 0 96 28" role="img"')
    assert 'aria-label="7-day price: +10.00% (low 90, high 110)"' in svg
    assert len(points(svg)) == 3


def test_a_week_of_hourly_closes_stays_small():
    closes = [60000 + (i % 24) * 13.37 for i in range(168)]
    assert len(sparkline_svg(closes, width=120, height=32)) < 168 * 14 + 400
