"""Support and resistance: classic pivots by hand, which period they come from, swing levels."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from markets.analysis.levels import (
    SwingLevel,
    levels_around,
    pivot_period,
    pivots_classic,
    pivots_compute,
    swing_levels,
    swing_points,
)
from markets.candles import CLOSE, HIGH, LOW, TIME
from markets.tests.analysis_data import MIDNIGHT, random_walk


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def test_classic_pivots_by_hand():
    levels = pivots_classic(high=110.0, low=90.0, close=105.0)
    pivot = (110 + 90 + 105) / 3  # 101.67
    assert levels == pytest.approx(
        {
            "P": pivot,
            "R1": 2 * pivot - 90,
            "S1": 2 * pivot - 110,
            "R2": pivot + 20,
            "S2": pivot - 20,
            "R3": 110 + 2 * (pivot - 90),
            "S3": 90 - 2 * (110 - pivot),
        }
    )
    assert levels["S3"] < levels["S2"] < levels["S1"] < levels["P"] < levels["R1"] < levels["R2"] < levels["R3"]


@pytest.mark.parametrize("timeframe", ["1m", "5m", "15m", "1h"])
def test_intraday_charts_take_the_previous_day(timeframe):
    start, end = pivot_period(timeframe=timeframe, reference=epoch("2026-11-18T10:37:00"))
    assert (start, end) == (epoch("2026-11-17T00:00:00"), epoch("2026-11-18T00:00:00"))


def test_four_hour_charts_take_the_previous_week_from_monday():
    # 2026-11-18 is a Wednesday: its week began on Monday the 16th.
    start, end = pivot_period(timeframe="4h", reference=epoch("2026-11-18T08:00:00"))
    assert (start, end) == (epoch("2026-11-09T00:00:00"), epoch("2026-11-16T00:00:00"))
    assert pivot_period(timeframe="4h", reference=epoch("2026-11-16T00:00:00"))[1] == epoch("2026-11-16T00:00:00")


def test_daily_charts_take_the_previous_calendar_month_across_the_year():
    assert pivot_period(timeframe="1d", reference=epoch("2026-01-05T00:00:00")) == (
        epoch("2025-12-01T00:00:00"),
        epoch("2026-01-01T00:00:00"),
    )
    assert pivot_period(timeframe="1d", reference=epoch("2026-03-01T00:00:00"))[0] == epoch("2026-02-01T00:00:00")


def test_pivots_use_the_previous_periods_extremes_and_last_close():
    daily = random_walk(10, end=MIDNIGHT, seconds=86400)  # the ten days before 2026-11-18
    daily[-1, [HIGH, LOW, CLOSE]] = [120.0, 80.0, 100.0]  # the 17th
    found = pivots_compute(daily=daily, timeframe="1h", reference=MIDNIGHT + 3600)
    assert found["basis"] == "previous day" and found["start"] == MIDNIGHT - 86400
    assert (found["high"], found["low"], found["close"]) == (120.0, 80.0, 100.0)
    assert found["value"] == pytest.approx(pivots_classic(high=120.0, low=80.0, close=100.0))

    weekly = pivots_compute(daily=daily, timeframe="4h", reference=MIDNIGHT)
    week = daily[(daily[:, TIME] >= weekly["start"]) & (daily[:, TIME] < weekly["end"])]
    assert len(week) == 7 and weekly["basis"] == "previous week"
    assert weekly["high"] == week[:, HIGH].max() and weekly["close"] == week[-1, CLOSE]


def test_pivots_without_daily_bars_are_null_with_the_reason():
    found = pivots_compute(daily=np.empty((0, 6)), timeframe="1d", reference=MIDNIGHT)
    assert found["value"] is None
    assert found["reason"] == "no daily bars stored for the previous month"


def bars_with(highs: list[float], lows: list[float]) -> np.ndarray:
    bars = random_walk(len(highs))
    bars[:, HIGH], bars[:, LOW] = highs, lows
    return bars


def test_swing_points_are_fractal_highs_and_lows():
    bars = bars_with(
        highs=[5, 6, 9, 6, 5, 6, 7, 6, 5],
        lows=[3, 2, 4, 3, 1, 3, 4, 4, 3],
    )
    points = swing_points(bars=bars, window=2)
    assert points[:, 1].tolist() == [9, 1, 7]  # highs at 2 and 6, the low at 4
    assert points[:, 0].tolist() == bars[[2, 4, 6], TIME].tolist()


def test_equal_neighbours_make_one_swing_not_two():
    bars = bars_with(highs=[1, 2, 5, 5, 2, 1, 1], lows=[0] * 7)
    assert swing_points(bars=bars, window=2)[:, 1].tolist() == [5]


def test_swings_within_the_tolerance_make_one_level_with_their_touches():
    bars = bars_with(
        highs=[5, 6, 10, 6, 5, 6, 10.2, 6, 5, 6, 9.9, 6, 5],
        lows=[4, 3, 4, 3, 2, 3, 4, 3, 2.1, 3, 4, 3, 4],
    )
    levels = swing_levels(bars=bars, window=2, tolerance=0.5)
    assert [(round(level.price, 3), level.touches) for level in levels] == [(2.05, 2), (10.033, 3)]
    assert levels[1].first_time == bars[2, TIME] and levels[1].last_time == bars[10, TIME]


def test_levels_around_the_price_are_split_into_support_and_resistance():
    levels = [
        SwingLevel(90.0, 1, 0, 0),
        SwingLevel(95.0, 4, 0, 0),
        SwingLevel(99.0, 2, 0, 0),
        SwingLevel(101.0, 1, 0, 0),
        SwingLevel(120.0, 5, 0, 0),
    ]
    around = levels_around(levels=levels, price=100.0, per_side=2)
    assert [level["price"] for level in around["support"]] == [99.0, 95.0]  # the strongest two, nearest first
    assert [level["price"] for level in around["resistance"]] == [101.0, 120.0]
    assert around["support"][1] == {"price": 95.0, "kind": "support", "touches": 4, "first_time": 0, "last_time": 0}
    assert levels_around(levels=levels, price=None) == {"support": [], "resistance": []}
