"""Candles: the roll-up of bars, and the live aggregator building exactly the same bars from ticks."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TEST_PROFILES
from markets.candles import CLOSE, TIME, VOLUME, Bar, CandleAggregator, bars_rollup
from markets.sources.simulation import DAY, SimulatedExchange
from markets.timeframes import TIMEFRAME_SECONDS

MIDNIGHT = 1_732_406_400  # 2024-11-24 00:00 UTC
T10 = MIDNIGHT + 10 * 3600
HIGHER = ["5m", "15m", "1h", "4h", "1d"]


def aggregate(start: float, step_seconds: float, steps: int) -> dict[tuple[str, str], np.ndarray]:
    """Feed an aggregator simulated ticks as the feed does; return its closed bars by (symbol, timeframe)."""
    exchange = SimulatedExchange(TEST_PROFILES[:3], seed=5, start_ts=start)
    aggregator = CandleAggregator()
    closed: dict[tuple[str, str], list] = {}
    for k in range(1, steps + 1):
        ts = start + k * step_seconds
        bars = [
            c for tick in exchange.step(ts) for c in aggregator.add(tick.symbol, tick.price, tick.qty, tick.ts / 1000)
        ]
        for c in bars + aggregator.close_due(ts):
            closed.setdefault((c.symbol, c.timeframe), []).append(list(c.bar.as_dict().values()))
    return {key: np.array(rows, dtype=float) for key, rows in closed.items()}


@pytest.fixture(scope="module")
def hours_of_ticks():
    """Three hours and a half of one-second ticks from 22:31:07.4, across midnight."""
    return aggregate(MIDNIGHT + 22 * 3600 + 31 * 60 + 7.4, 1.0, 12_600)


@pytest.fixture(scope="module")
def days_of_ticks():
    """Two days and five hours of ticks every 20 seconds, from 19:05:03."""
    return aggregate(MIDNIGHT + 19 * 3600 + 5 * 60 + 3, 20.0, (2 * DAY + 5 * 3600) // 20)


def assert_rollup_matches(closed: dict, timeframe: str) -> None:
    for symbol in ("BTC", "ETH", "SOL"):
        own = closed[(symbol, timeframe)]
        rolled = bars_rollup(closed[(symbol, "1m")], TIMEFRAME_SECONDS[timeframe])
        # The roll-up of closed minutes also holds the bucket still forming, at most one more.
        assert len(rolled) - len(own) in (0, 1)
        rolled = rolled[: len(own)]
        assert np.array_equal(rolled[:, TIME : CLOSE + 1], own[:, TIME : CLOSE + 1])
        np.testing.assert_allclose(rolled[:, VOLUME], own[:, VOLUME], rtol=1e-9)


@pytest.mark.parametrize("timeframe", HIGHER)
def test_rollup_of_closed_minutes_equals_the_aggregators_bars_over_hours(hours_of_ticks, timeframe):
    assert_rollup_matches(hours_of_ticks, timeframe)


@pytest.mark.parametrize("timeframe", HIGHER)
def test_rollup_of_closed_minutes_equals_the_aggregators_bars_over_days(days_of_ticks, timeframe):
    assert_rollup_matches(days_of_ticks, timeframe)


def test_aggregator_closes_every_bucket_that_ended(hours_of_ticks, days_of_ticks):
    counts = {tf: len(hours_of_ticks[("BTC", tf)]) for tf in ["1m", "5m", "1h", "4h", "1d"]}
    days = len(days_of_ticks[("BTC", "1d")])

    # 22:31:07 to 02:01:07: minutes 22:31..02:00, 5-minute buckets 22:30..01:55, hours 22..01.
    assert counts == {"1m": 210, "5m": 42, "1h": 4, "4h": 1, "1d": 1}
    # 19:05:03 on day 0 to 00:05:03 on day 3: days 0 (from 19:05), 1 and 2.
    assert days == 3


def test_aggregator_bars_follow_each_other_without_gaps(hours_of_ticks):
    for timeframe, seconds in TIMEFRAME_SECONDS.items():
        times = hours_of_ticks[("ETH", timeframe)][:, TIME]
        assert (np.diff(times) == seconds).all()
        assert (times % seconds == 0).all()


# --- bars_rollup by hand -------------------------------------------------------------------


def test_rollup_of_minutes_into_five_minute_bars():
    minutes = np.array(
        [
            # time, open, high, low, close, volume
            [T10 + 0, 100.0, 101.0, 99.0, 100.5, 1.0],
            [T10 + 60, 100.5, 103.0, 100.0, 102.0, 2.0],
            [T10 + 120, 102.0, 102.5, 98.0, 99.0, 0.5],
            [T10 + 240, 99.0, 99.5, 98.5, 99.2, 1.5],
            [T10 + 300, 99.2, 100.0, 97.0, 97.5, 3.0],
            [T10 + 360, 97.5, 98.0, 97.2, 97.8, 0.25],
        ]
    )

    bars = bars_rollup(minutes, 300)

    assert bars.tolist() == [
        [T10, 100.0, 103.0, 98.0, 99.2, 5.0],
        [T10 + 300, 99.2, 100.0, 97.0, 97.8, 3.25],
    ]


def test_rollup_of_a_lone_bar_is_that_bar_in_its_bucket():
    bars = bars_rollup(np.array([[T10 + 3 * 3600 + 600, 5.0, 6.0, 4.0, 5.5, 7.0]]), 4 * 3600)

    assert bars.tolist() == [[T10 + 2 * 3600, 5.0, 6.0, 4.0, 5.5, 7.0]]


def test_rollup_of_nothing_is_an_empty_bar_array():
    assert bars_rollup(np.empty((0, 6)), 300).shape == (0, 6)


# --- CandleAggregator by hand ----------------------------------------------------------------


def bar_values(bar: Bar) -> list:
    return list(bar.as_dict().values())


def test_first_tick_opens_a_bar_in_every_timeframe():
    aggregator = CandleAggregator()

    closed = aggregator.add("BTC", 100.0, 2.0, T10 + 125.5)

    assert closed == []
    assert {tf: bar.time for tf, bar in aggregator.bars_of("BTC").items()} == {
        "1m": T10 + 120,
        "5m": T10,
        "15m": T10,
        "1h": T10,
        "4h": T10 - 2 * 3600,
        "1d": MIDNIGHT,
    }


def test_ticks_in_one_minute_build_its_bar():
    aggregator = CandleAggregator()
    for price, qty, second in [(100.0, 1.0, 1), (104.0, 0.5, 20), (97.0, 2.0, 40), (101.0, 0.25, 59.9)]:
        aggregator.add("BTC", price, qty, T10 + second)

    assert bar_values(aggregator.bars_of("BTC")["1m"]) == [T10, 100.0, 104.0, 97.0, 101.0, 3.75]


def test_tick_in_the_next_minute_closes_the_minute_bar_only():
    aggregator = CandleAggregator()
    aggregator.add("BTC", 100.0, 1.0, T10 + 1)

    closed = aggregator.add("BTC", 102.0, 1.0, T10 + 60)

    assert [(c.symbol, c.timeframe, bar_values(c.bar)) for c in closed] == [
        ("BTC", "1m", [T10, 100.0, 100.0, 100.0, 100.0, 1.0])
    ]
    assert bar_values(aggregator.bars_of("BTC")["5m"]) == [T10, 100.0, 102.0, 100.0, 102.0, 2.0]


def test_close_due_closes_the_bars_of_symbols_that_stopped_ticking():
    aggregator = CandleAggregator()
    aggregator.add("BTC", 100.0, 1.0, T10 + 30)
    aggregator.add("ETH", 10.0, 1.0, T10 + 30)
    aggregator.add("BTC", 101.0, 1.0, T10 + 70)

    closed = aggregator.close_due(T10 + 70)

    assert [(c.symbol, c.timeframe, bar_values(c.bar)) for c in closed] == [
        ("ETH", "1m", [T10, 10.0, 10.0, 10.0, 10.0, 1.0])
    ]
    assert "1m" not in aggregator.bars_of("ETH")
    assert set(aggregator.bars_of("BTC")) == set(TIMEFRAME_SECONDS)


def test_late_tick_for_a_bar_closed_by_close_due_does_not_reopen_it():
    aggregator = CandleAggregator()
    aggregator.add("ETH", 10.0, 1.0, T10 + 30)
    aggregator.close_due(T10 + 60)

    assert aggregator.add("ETH", 11.0, 1.0, T10 + 45) == []

    assert "1m" not in aggregator.bars_of("ETH")
    assert aggregator.bars_of("ETH")["5m"].close == 10.0


def test_close_due_closes_each_timeframe_when_its_bucket_ends():
    aggregator = CandleAggregator()
    aggregator.add("ETH", 10.0, 1.0, T10 + 30)

    at_five = aggregator.close_due(T10 + 300)
    at_hour = aggregator.close_due(T10 + 3600)

    assert [c.timeframe for c in at_five] == ["1m", "5m"]
    assert [c.timeframe for c in at_hour] == ["15m", "1h"]
    assert aggregator.close_due(T10 + 3600) == []


def test_tick_older_than_the_forming_bar_is_ignored():
    aggregator = CandleAggregator()
    aggregator.add("BTC", 100.0, 1.0, T10 + 30)
    aggregator.add("BTC", 102.0, 1.0, T10 + 65)
    before = {tf: bar_values(bar) for tf, bar in aggregator.bars_of("BTC").items()}

    closed = aggregator.add("BTC", 90.0, 5.0, T10 + 59)

    assert closed == []
    assert {tf: bar_values(bar) for tf, bar in aggregator.bars_of("BTC").items()} == before


def test_resume_continues_a_partly_built_bar():
    aggregator = CandleAggregator()
    aggregator.resume("BTC", "1h", Bar(T10, 100.0, 105.0, 95.0, 101.0, 40.0))

    aggregator.add("BTC", 106.0, 2.0, T10 + 37 * 60)
    aggregator.add("BTC", 103.0, 1.0, T10 + 59 * 60)
    closed = aggregator.add("BTC", 104.0, 1.0, T10 + 3600)

    hour = [c for c in closed if c.timeframe == "1h"]
    assert [bar_values(c.bar) for c in hour] == [[T10, 100.0, 106.0, 95.0, 103.0, 43.0]]
    assert bar_values(aggregator.bars_of("BTC")["1h"]) == [T10 + 3600, 104.0, 104.0, 104.0, 104.0, 1.0]


def test_aggregator_builds_only_its_timeframes():
    aggregator = CandleAggregator(timeframes=("1m", "1h"))

    aggregator.add("BTC", 100.0, 1.0, T10 + 30)

    assert set(aggregator.bars_of("BTC")) == {"1m", "1h"}
