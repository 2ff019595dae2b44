"""The simulated market: determinism, tick and trade invariants, its statistics, order books and history."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import numpy as np
import pytest

from conftest import TEST_PROFILES
from markets import snapshot
from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME
from markets.sources.base import LastBar, SourceUnavailable
from markets.sources.simulated import SimulatedSource
from markets.sources.simulation import DAY, SimulatedExchange, history_generate, history_segments, order_book
from markets.universe import seed_profiles

# 2024-11-24 00:00 UTC: a midnight, so that hours of the day are easy to reach.
MIDNIGHT = 1_732_406_400
NOON = MIDNIGHT + 12 * 3600


def run_exchange(exchange: SimulatedExchange, start: float, steps: int) -> list[list]:
    """Step ``exchange`` once a second from ``start``; return every step's ticks."""
    return [exchange.step(start + k + 1) for k in range(steps)]


def six_significant_digits(price: float) -> bool:
    return float(f"{price:.6g}") == price


# --- Ticks ---------------------------------------------------------------------------------


def test_same_seed_and_clock_give_identical_ticks():
    first = run_exchange(SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON), NOON, 300)
    second = run_exchange(SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON), NOON, 300)

    assert first == second


def test_different_seeds_give_different_ticks():
    first = run_exchange(SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON), NOON, 300)
    second = run_exchange(SimulatedExchange(TEST_PROFILES, seed=8, start_ts=NOON), NOON, 300)

    assert [t.price for t in first[-1]] != [t.price for t in second[-1]]
    assert [t.qty for t in first[0]] != [t.qty for t in second[0]]


def test_each_step_gives_one_tick_per_coin_stamped_with_the_step_time():
    exchange = SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON)

    ticks = exchange.step(NOON + 1.5)

    assert [t.symbol for t in ticks] == [p.symbol for p in TEST_PROFILES]
    assert {t.ts for t in ticks} == {(NOON + 1.5) * 1000}


def test_prices_stay_positive_with_six_significant_digits():
    steps = run_exchange(SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON), NOON, 300)

    prices = [t.price for ticks in steps for t in ticks]

    assert len(prices) == 300 * len(TEST_PROFILES)
    assert all(p > 0 for p in prices)
    assert all(six_significant_digits(p) for p in prices)


def test_price_lies_between_the_24h_low_and_high():
    steps = run_exchange(SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON), NOON, 300)

    ticks = [t for batch in steps for t in batch]

    assert all(t.low24h <= t.price <= t.high24h for t in ticks)
    assert all(t.qty > 0 and t.volume24h > 0 for t in ticks)


def test_24h_change_is_measured_from_the_price_a_day_ago():
    exchange = SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON)

    ticks = exchange.step(NOON + 1)

    for profile, tick in zip(TEST_PROFILES, ticks, strict=True):
        assert tick.change24h == pytest.approx((tick.price / profile.price - 1) * 100, rel=1e-9)


def test_quote_volume_is_higher_at_1500_utc_than_at_0300_utc():
    def mean_quote_per_tick(hour: int) -> float:
        start = MIDNIGHT + hour * 3600
        steps = run_exchange(SimulatedExchange(TEST_PROFILES, seed=7, start_ts=start), start, 600)
        return float(np.mean([t.qty * t.price for ticks in steps for t in ticks]))

    # The same seed draws the same noise at both hours, so only the time of day differs.
    assert mean_quote_per_tick(15) > 2.0 * mean_quote_per_tick(3)


# --- Trades --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traded() -> tuple[SimulatedExchange, list]:
    """An exchange after 200 one-second steps, and its ticks."""
    exchange = SimulatedExchange(TEST_PROFILES, seed=7, start_ts=NOON)
    return exchange, run_exchange(exchange, NOON, 200)


def test_trades_keep_the_newest_hundred_newest_first(traded):
    exchange, _ = traded

    for trades in exchange.trades.values():
        ids = [t.id for t in trades]
        assert len(trades) == 100
        assert ids == list(range(ids[0], ids[0] - 100, -1))
        assert [t.ts for t in trades] == sorted((t.ts for t in trades), reverse=True)


def test_a_steps_trades_add_up_to_its_tick_quantity(traded):
    exchange, steps = traded
    last, previous = steps[-1], steps[-2]

    for tick, before in zip(last, previous, strict=True):
        trades = [t for t in exchange.trades[tick.symbol] if t.ts > before.ts]
        assert 1 <= len(trades) <= 7
        assert sum(t.qty for t in trades) == pytest.approx(tick.qty, rel=1e-9)
        assert all(t.price >= tick.price and t.side in ("buy", "sell") for t in trades)


# --- Statistics over the 130-coin universe ---------------------------------------------------


class PricesOnly(SimulatedExchange):
    """The exchange without trade bookkeeping: three quarters of a step's time, and no part of the price model."""

    def _record_trades(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def log_returns() -> np.ndarray:
    """One-second log returns (coins, 2,999) of the seed universe over 3,000 steps, BTC first."""
    exchange = PricesOnly(list(seed_profiles()), seed=11, start_ts=NOON)
    prices = np.array([[t.price for t in ticks] for ticks in run_exchange(exchange, NOON, 3000)]).T
    return np.diff(np.log(prices), axis=1)


statistics = pytest.mark.xdist_group("simulation-statistics")  # one worker computes the fixture


@statistics
def test_coins_move_with_btc(log_returns):
    btc = log_returns[0]

    correlations = [np.corrcoef(btc, coin)[0, 1] for coin in log_returns[1:]]

    assert np.median(correlations) > 0.25
    assert min(correlations) > 0


@statistics
def test_coins_follow_btc_in_proportion_to_their_beta(log_returns):
    btc, coins = log_returns[0], log_returns[1:]
    betas = np.array([p.beta for p in seed_profiles()[1:]])

    slopes = np.array([np.cov(btc, coin)[0, 1] / btc.var(ddof=1) for coin in coins])

    assert np.corrcoef(slopes, betas)[0, 1] > 0.85
    assert np.mean(np.abs(slopes - betas)) < 0.1


@statistics
def test_volatile_coins_realize_more_volatility_than_btc(log_returns):
    profiled = np.array([p.daily_volatility for p in seed_profiles()])
    realized = log_returns.std(axis=1) * np.sqrt(DAY)

    wild = profiled >= 2 * profiled[0]

    assert wild.sum() > 100
    assert (realized[wild] > realized[0]).all()


@statistics
def test_realized_volatility_is_near_the_profiles(log_returns):
    profiled = np.array([p.daily_volatility for p in seed_profiles()])

    ratio = log_returns.std(axis=1) * np.sqrt(DAY) / profiled

    assert 0.4 < np.median(ratio) < 1.5
    assert ratio.min() > 0.25
    assert ratio.max() < 4.0


@statistics
def test_some_minutes_burst_to_several_times_the_usual_volatility(log_returns):
    minutes = log_returns[:, : 49 * 60].reshape(len(log_returns), 49, 60)
    per_minute = np.sqrt((minutes**2).sum(axis=2))

    burst = per_minute.max(axis=1) / np.median(per_minute, axis=1)

    # With bursts switched off (BURST_RATE = 0) no coin passed 2.5 times its median in ten seeds.
    assert (burst > 3.0).sum() >= 1


# --- Order book ----------------------------------------------------------------------------


def book(price: float = 3000.0, ts: int = NOON * 1000, symbol: str = "ETH", seed: int = 7):
    return order_book(symbol=symbol, price=price, quote_rate=1.0e4, ts=ts, depth=20, seed=seed)


@pytest.mark.parametrize("price", [3000.0, 0.0000095, 99999.9, 99.9999, 100.0, 9.99999])
def test_book_bids_descend_below_ascending_asks(price):
    for second in range(20):
        result = book(price, ts=(NOON + second) * 1000)
        bids, asks = result.bids, result.asks

        bid_prices, ask_prices = [p for p, _ in bids], [p for p, _ in asks]
        assert len(bids) == len(asks) == 20
        assert bid_prices[0] < ask_prices[0]
        assert all(a > b for a, b in pairwise(bid_prices))
        assert all(a < b for a, b in pairwise(ask_prices))
        assert all(six_significant_digits(p) for p in bid_prices + ask_prices)
        assert all(q > 0 for _, q in bids + asks)


def test_book_is_the_same_within_a_second():
    assert book(ts=NOON * 1000).as_dict() | {"ts": 0} == book(ts=NOON * 1000 + 999).as_dict() | {"ts": 0}


def test_book_changes_the_next_second():
    assert book(ts=NOON * 1000).bids != book(ts=(NOON + 1) * 1000).bids


def test_book_depends_on_seed_and_symbol():
    assert book(seed=7).bids != book(seed=8).bids
    assert book(symbol="ETH").bids != book(symbol="BTC").bids


# --- History -------------------------------------------------------------------------------

END = MIDNIGHT + 13 * 3600 + 17 * 60 + 25  # 13:17:25, not on a minute

HISTORY_RANGES = {
    "an hour": END - 3600,
    "two days, from a minute": END - 2 * DAY - 3 * 3600 - 7 * 60,
    "ten days, from mid-hour": END - 10 * DAY + 10 * 3600 + 30 * 60,
    "ten days, from a whole hour": END - END % 3600 - 10 * DAY - 7 * 3600,
    "ninety days, from mid-day": END - 90 * DAY + 5 * 3600 + 42 * 60,
    "four hundred days, from midnight": MIDNIGHT - 400 * DAY,
}


@pytest.mark.parametrize("start", HISTORY_RANGES.values(), ids=HISTORY_RANGES.keys())
def test_history_segments_tile_the_range_in_whole_bars(start):
    segments = history_segments(start, END)

    assert segments[0].start == start - start % 60
    assert segments[-1].end == END - END % 60
    assert all(a.end == b.start for a, b in pairwise(segments))
    assert all(s.bars * s.seconds == s.end - s.start and s.bars > 0 for s in segments)


@pytest.mark.parametrize("start", HISTORY_RANGES.values(), ids=HISTORY_RANGES.keys())
def test_history_segments_of_hours_and_days_start_and_end_on_whole_ones(start):
    segments = history_segments(start, END)

    coarse = [s for s in segments if s.seconds > 60]

    assert all(s.start % s.seconds == 0 and s.end % s.seconds == 0 for s in coarse)


@pytest.mark.parametrize("start", HISTORY_RANGES.values(), ids=HISTORY_RANGES.keys())
def test_history_segments_give_the_last_three_days_in_minutes(start):
    end = END - END % 60

    last = history_segments(start, END)[-1]

    assert last.seconds == 60
    assert last.start <= max(start - start % 60, end - 3 * DAY)
    assert last.start > end - 3 * DAY - 3600


def test_history_segments_of_a_long_range_go_minutes_hours_days_hours_minutes():
    start = END - 90 * DAY + 5 * 3600 + 42 * 60

    sizes = [s.seconds for s in history_segments(start, END)]

    assert sizes == [60, 3600, DAY, 3600, 60]


def test_history_segments_within_one_minute_are_none():
    minute = END - END % 60

    assert history_segments(minute + 1, minute + 59) == []


GENERATED_FROM = END - 70 * DAY - 5 * 3600 - 10 * 60
ANCHORS = np.array([p.price for p in TEST_PROFILES])


def generate(seed: int = 3, anchor_at_end: bool = True, anchors: np.ndarray = ANCHORS) -> list:
    return history_generate(
        TEST_PROFILES,
        history_segments(GENERATED_FROM, END),
        anchor_prices=anchors,
        anchor_at_end=anchor_at_end,
        rng=np.random.default_rng(seed),
    )


def bars_of_coin(parts: list, index: int) -> np.ndarray:
    return np.concatenate([bars[index] for _, bars in parts])


def test_history_is_the_same_for_the_same_generator_seed():
    first, second = generate(seed=3), generate(seed=3)

    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(first, second, strict=True))


def test_history_differs_for_another_generator_seed():
    first, second = generate(seed=3), generate(seed=4)

    assert not np.array_equal(first[0][1], second[0][1])


def test_history_anchored_at_the_end_closes_at_the_anchor_price():
    anchors = np.array([91234.5678, 3000.0, 140.123456, 0.15, 0.00000951234])

    parts = generate(anchors=anchors)

    assert parts[-1][1][:, -1, CLOSE].tolist() == [91234.6, 3000.0, 140.123, 0.15, 0.00000951234]


def test_history_anchored_at_the_start_opens_at_the_anchor_price():
    parts = generate(anchor_at_end=False)

    assert parts[0][1][:, 0, OPEN].tolist() == ANCHORS.tolist()
    assert parts[-1][1][:, -1, CLOSE].tolist() != ANCHORS.tolist()


def test_history_bars_are_continuous_in_time_and_price():
    parts = generate()

    for index in range(len(TEST_PROFILES)):
        bars = bars_of_coin(parts, index)
        sizes = np.concatenate([np.full(segment.bars, segment.seconds) for segment, _ in parts])
        assert bars[0, TIME] == GENERATED_FROM - GENERATED_FROM % 60
        assert (bars[1:, TIME] == bars[:-1, TIME] + sizes[:-1]).all()
        assert (bars[1:, OPEN] == bars[:-1, CLOSE]).all()


def test_history_bars_have_sane_ohlcv():
    parts = generate()

    bars = np.concatenate([bars_of_coin(parts, index) for index in range(len(TEST_PROFILES))])

    assert (bars[:, LOW] > 0).all()
    assert (bars[:, LOW] <= np.minimum(bars[:, OPEN], bars[:, CLOSE])).all()
    assert (bars[:, HIGH] >= np.maximum(bars[:, OPEN], bars[:, CLOSE])).all()
    assert (bars[:, VOLUME] >= 0).all()


# --- The source ----------------------------------------------------------------------------


async def test_source_continues_live_prices_from_the_last_stored_close():
    source = SimulatedSource(seed=7, clock=lambda: NOON)
    recent = {"BTC": np.array([[NOON - 120, 1, 1, 1, 1, 1], [NOON - 60, 1, 1, 1, 80000.0, 1]], dtype=float)}

    await source.start(coins=TEST_PROFILES[:2], recent_1m=recent)

    assert np.exp(source.exchange.log_price).tolist() == pytest.approx([80000.0, 3000.0])


async def test_source_streams_one_batch_a_tick_and_stores_the_trades():
    source = SimulatedSource(seed=7, tick_seconds=0.05)
    await source.start(coins=TEST_PROFILES, recent_1m={})

    stream = source.ticks()
    batches = [await anext(stream) for _ in range(3)]
    await stream.aclose()

    assert [len(b) for b in batches] == [5, 5, 5]
    assert batches[0][0].ts < batches[1][0].ts < batches[2][0].ts
    trades = source.recent_trades("BTC", 5)
    assert 2 <= len(trades) <= 5  # stored after each of the first two batches: one trade or more each
    assert [t.id for t in trades] == sorted((t.id for t in trades), reverse=True)
    assert set(trades) <= set(source.exchange.trades["BTC"])


async def test_source_stores_the_exchanges_latest_trades_after_many_ticks_and_a_restart():
    source = SimulatedSource(seed=7)
    for restart in range(2):
        await source.start(coins=TEST_PROFILES, recent_1m={})
        for second in range(1, 60):  # more trades than the 100 kept
            source.exchange.step(NOON + restart * 3600 + second)
            source._store_trades()

        for profile in TEST_PROFILES:
            assert source.recent_trades(profile.symbol, 100) == source.exchange.trades[profile.symbol]


async def test_source_restarted_later_takes_a_new_path_and_the_same_start_the_same_one():
    async def first_prices(start: float) -> list[float]:
        source = SimulatedSource(seed=7, clock=lambda: start)
        await source.start(coins=TEST_PROFILES, recent_1m={})
        return [t.price for t in source.exchange.step(start + 1)]

    assert await first_prices(NOON) == await first_prices(NOON)
    assert await first_prices(NOON) != await first_prices(NOON + 60)


async def test_source_refuses_to_stream_before_start():
    with pytest.raises(RuntimeError):
        await anext(SimulatedSource(seed=7).ticks())


def test_source_has_no_book_or_trades_before_the_feed_publishes():
    source = SimulatedSource(seed=7)

    with pytest.raises(SourceUnavailable):
        source.order_book("BTC", 10)
    with pytest.raises(SourceUnavailable):
        source.recent_trades("BTC", 10)


def test_source_book_is_built_around_the_published_price():
    ticker = {"price": 3000.0, "volume24h": 8.64e8, "ts": NOON * 1000}
    snapshot.snapshot_store(tickers={"ETH": ticker}, bars={}, version=1, ts=NOON * 1000)

    result = SimulatedSource(seed=7).order_book("ETH", 10)

    assert result == order_book(symbol="ETH", price=3000.0, quote_rate=1.0e4, ts=NOON * 1000, depth=10, seed=7)
    assert result.bids[0][0] <= 3000.0 < result.asks[0][0]


def test_source_history_of_a_new_coin_spans_four_hundred_days_up_to_the_last_closed_minute():
    source = SimulatedSource(seed=7)

    history = source.history(coins=TEST_PROFILES[:1], last_bars={"BTC": None}, until=END)

    first = min(bars[0, TIME] for bars in (history[tf]["BTC"] for tf in history))
    assert first <= END - 400 * DAY
    assert history["1m"]["BTC"][-1, TIME] == END - END % 60 - 60
    assert history["1m"]["BTC"][-1, CLOSE] == TEST_PROFILES[0].price


def test_source_history_continues_after_the_last_stored_bar_from_its_close():
    source = SimulatedSource(seed=7)
    last = LastBar(time=END - END % 60 - 5 * 3600, close=88000.0)

    history = source.history(coins=TEST_PROFILES[:1], last_bars={"BTC": last}, until=END)

    minutes = history["1m"]["BTC"]
    assert set(history) == {"1m"}
    assert minutes[0, TIME] == last.time + 60
    assert minutes[0, OPEN] == 88000.0
    assert len(minutes) == 5 * 60 - 1


def test_source_history_is_empty_when_no_minute_has_closed():
    source = SimulatedSource(seed=7)
    last = LastBar(time=END - END % 60 - 60, close=88000.0)

    assert source.history(coins=TEST_PROFILES[:1], last_bars={"BTC": last}, until=END) == {}


async def test_source_stream_waits_for_the_next_whole_tick():
    clock = iter([NOON + 0.98, NOON + 1.0])
    source = SimulatedSource(seed=7, tick_seconds=1.0, clock=lambda: next(clock))
    await source.start(coins=TEST_PROFILES[:1], recent_1m={})  # reads the clock once
    clock = iter([NOON + 0.98, NOON + 1.0])

    stream = source.ticks()
    batch = await asyncio.wait_for(anext(stream), timeout=0.5)
    await stream.aclose()

    assert batch[0].ts == (NOON + 1) * 1000
