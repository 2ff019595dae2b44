"""Candles: the roll-up of bars, and the live aggregators building exactly the same bars from ticks or 1m bars."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TEST_PROFILES
from markets.candles import CLOSE, TIME, VOLUME, Bar, CandleAggregator, MinuteAggregator, bars_rollup
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


# --- MinuteAggregator: bars from the exchange's own 1m bars (Binance klines) ----------------------


def imitated_minutes(start: int, minutes: int) -> tuple[list[Bar], object]:
    """Closed 1m bars of the Binance imitation's BTCUSDT from ``start``, and the imitation's market."""
    from markets.tests.binance_imitation import ImitatedSymbol
    from markets.tests.binance_imitation.market import Market, decimal

    market = Market(seed=3, origin=start)
    market.add(ImitatedSymbol("BTC", 90000.0, 2e9))

    def as_bar(t: int, interval: str) -> Bar:
        o, h, lo, c, v = market.final("BTCUSDT", interval, t)
        return Bar(t, *(float(decimal(x, 2)) for x in (o, h, lo, c)), float(decimal(v, 8)))

    return [as_bar(start + 60 * k, "1m") for k in range(minutes)], as_bar


def test_minute_aggregator_closes_every_timeframe_exactly_as_the_exchange_reports_it():
    start = T10 - 2 * 3600 - 7 * 60  # 07:53: mid-way in every bucket size
    minutes, exchange_bar = imitated_minutes(start, 6 * 60)
    aggregator = MinuteAggregator()
    closed = []
    for minute in minutes:
        half = Bar(minute.time, minute.open, minute.open, minute.open, minute.open, 0.0)
        closed += aggregator.add_minute("BTC", half, final=False)  # updates while it forms do not count
        closed += aggregator.add_minute("BTC", minute, final=True)

    by_timeframe: dict[str, list[Bar]] = {}
    for c in closed:
        by_timeframe.setdefault(c.timeframe, []).append(c.bar)
    assert by_timeframe["1m"] == minutes
    for timeframe in ["5m", "15m", "1h", "4h"]:
        seconds = TIMEFRAME_SECONDS[timeframe]
        bars = by_timeframe[timeframe]
        first_whole = -(-start // seconds) * seconds  # the partial first bucket closes too, with what it saw
        whole = [b for b in bars if b.time >= first_whole]
        assert [b.time for b in whole] == list(range(first_whole, whole[-1].time + 1, seconds))
        for bar in whole:
            wanted = exchange_bar(bar.time, timeframe)
            assert (bar.time, bar.open, bar.high, bar.low, bar.close) == (
                wanted.time,
                wanted.open,
                wanted.high,
                wanted.low,
                wanted.close,
            )
            assert bar.volume == pytest.approx(wanted.volume, rel=1e-12)


def test_minute_aggregator_forming_bars_combine_the_closed_minutes_with_the_forming_one():
    aggregator = MinuteAggregator()
    aggregator.add_minute("BTC", Bar(T10, 100.0, 103.0, 99.0, 101.0, 2.0), final=True)
    aggregator.add_minute("BTC", Bar(T10 + 60, 101.0, 101.5, 97.0, 98.0, 1.0), final=False)

    bars = {tf: list(bar.as_dict().values()) for tf, bar in aggregator.bars_of("BTC").items()}
    assert bars["1m"] == [T10 + 60, 101.0, 101.5, 97.0, 98.0, 1.0]
    assert bars["5m"] == bars["1h"] == [T10, 100.0, 103.0, 97.0, 98.0, 3.0]
    assert bars["1d"] == [MIDNIGHT, 100.0, 103.0, 97.0, 98.0, 3.0]


def test_minute_aggregator_replaces_a_forming_minute_with_each_update():
    aggregator = MinuteAggregator()
    aggregator.add_minute("BTC", Bar(T10, 100.0, 100.0, 100.0, 100.0, 1.0), final=False)
    aggregator.add_minute("BTC", Bar(T10, 100.0, 102.0, 100.0, 101.0, 3.0), final=False)

    assert aggregator.bars_of("BTC")["5m"].as_dict() == {
        "time": T10,
        "open": 100.0,
        "high": 102.0,
        "low": 100.0,
        "close": 101.0,
        "volume": 3.0,  # the latest state, not the sum of the updates
    }


def test_minute_aggregator_closes_a_minute_whose_final_update_never_came():
    aggregator = MinuteAggregator()
    aggregator.add_minute("BTC", Bar(T10, 100.0, 101.0, 99.0, 100.5, 1.0), final=False)

    closed = aggregator.add_minute("BTC", Bar(T10 + 60, 100.5, 100.5, 100.5, 100.5, 0.1), final=False)

    assert [(c.timeframe, c.bar.time, c.bar.close) for c in closed] == [("1m", T10, 100.5)]


def test_minute_aggregator_ignores_a_late_copy_of_a_closed_minute():
    aggregator = MinuteAggregator()
    aggregator.add_minute("BTC", Bar(T10, 100.0, 101.0, 99.0, 100.5, 1.0), final=True)

    assert aggregator.add_minute("BTC", Bar(T10, 100.0, 101.0, 99.0, 100.5, 1.0), final=True) == []
    assert aggregator.bars_of("BTC")["5m"].volume == 1.0


def test_minute_aggregator_closes_the_bars_of_a_symbol_that_stopped_updating_after_a_grace():
    aggregator = MinuteAggregator(grace=10)
    aggregator.add_minute("BTC", Bar(T10 + 240, 100.0, 101.0, 99.0, 100.5, 1.0), final=False)

    assert aggregator.close_due(T10 + 305) == []
    closed = aggregator.close_due(T10 + 311)

    assert sorted(c.timeframe for c in closed) == ["1m", "5m"]


def test_minute_aggregator_restart_forgets_the_bars_and_ignores_earlier_minutes():
    aggregator = MinuteAggregator()
    aggregator.add_minute("BTC", Bar(T10, 100.0, 101.0, 99.0, 100.5, 1.0), final=False)
    aggregator.restart({"BTC"}, until=T10 + 120)
    aggregator.resume("BTC", "5m", Bar(T10, 100.0, 104.0, 98.0, 103.0, 5.0))

    assert aggregator.add_minute("BTC", Bar(T10 + 60, 1.0, 1.0, 1.0, 1.0, 1.0), final=True) == []
    aggregator.add_minute("BTC", Bar(T10 + 120, 103.0, 103.5, 102.0, 102.5, 0.5), final=False)
    assert list(aggregator.bars_of("BTC")["5m"].as_dict().values()) == [T10, 100.0, 104.0, 98.0, 102.5, 5.5]
