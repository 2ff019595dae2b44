"""Market writes and reads: seeding coins, back-filling candles, the feed's flush, retention, selectors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import TEST_PROFILES
from markets import snapshot
from markets.candles import CLOSE, OPEN, TIME, VOLUME, bars_rollup
from markets.models import Candle, Coin
from markets.selectors import candles_for, last_bars_for, recent_1m
from markets.services import candles_array, candles_prune, candles_store, coins_seed, history_extend, market_flush
from markets.sources.base import LastBar
from markets.sources.simulated import SimulatedSource
from markets.timeframes import TIMEFRAME_SECONDS

DAY = 86400
NOW = 1_732_406_400 + 13 * 3600 + 17 * 60 + 25  # 2024-11-24 13:17:25 UTC
MINUTE = NOW - NOW % 60  # the forming minute at NOW: the last closed 1m bar opened a minute before
ROLLUPS = [("5m", "1m"), ("15m", "1m"), ("1h", "1m"), ("4h", "1h"), ("1d", "1h")]


def source() -> SimulatedSource:
    return SimulatedSource(seed=3, clock=lambda: NOW)


@pytest.fixture
def two_coins(db):
    """BTC and ETH, the smallest market that still shows per-coin grouping."""
    coins_seed(profiles=TEST_PROFILES[:2])
    return ["BTC", "ETH"]


@pytest.fixture
def btc_only(db):
    """BTC alone: a back-fill is slow to write, and what it does per coin is the same for one."""
    coins_seed(profiles=TEST_PROFILES[:1])


def stored(symbol: str, timeframe: str) -> np.ndarray:
    return candles_array(symbol=symbol, timeframe=timeframe, start=0, end=4_000_000_000)


def assert_consecutive(bars: np.ndarray, seconds: int) -> None:
    assert (np.diff(bars[:, TIME]) == seconds).all()


def assert_rollups_hold(symbol: str) -> None:
    """Every stored higher bar whose lower bars are all stored is their roll-up; and there are such bars."""
    for higher, lower in ROLLUPS:
        seconds, per = TIMEFRAME_SECONDS[higher], TIMEFRAME_SECONDS[higher] // TIMEFRAME_SECONDS[lower]
        lows, highs = stored(symbol, lower), stored(symbol, higher)
        buckets, counts = np.unique(lows[:, TIME] // seconds * seconds, return_counts=True)
        rolled = bars_rollup(lows, seconds)
        rolled = rolled[np.isin(rolled[:, TIME], buckets[counts == per])]
        kept = highs[np.isin(highs[:, TIME], rolled[:, TIME])]
        assert len(rolled) > 0, (higher, lower)
        assert kept[:, TIME].tolist() == rolled[:, TIME].tolist(), (higher, lower)
        assert np.array_equal(kept[:, OPEN : CLOSE + 1], rolled[:, OPEN : CLOSE + 1]), (higher, lower)
        np.testing.assert_allclose(kept[:, VOLUME], rolled[:, VOLUME], rtol=1e-9)


# --- coins_seed ------------------------------------------------------------------------------


def test_coins_seed_creates_the_missing_coins_with_their_market_cap(db):
    created = coins_seed(profiles=TEST_PROFILES)

    coins = {c.symbol: c for c in Coin.objects.all()}
    assert created == 5
    assert list(coins) == ["BTC", "ETH", "SOL", "DOGE", "PEPE"]
    assert coins["BTC"].market_cap == 90000.0 * 19_900_000
    assert coins["PEPE"].market_cap is None


def test_coins_seed_leaves_existing_coins_alone(coins):
    Coin.objects.filter(symbol="BTC").update(price=1.0)

    created = coins_seed(profiles=TEST_PROFILES)

    assert created == 0
    assert Coin.objects.count() == 5
    assert Coin.objects.get(symbol="BTC").price == 1.0


def test_coins_seed_defaults_to_the_seed_universe(db):
    assert coins_seed() == 130


# --- history_extend ------------------------------------------------------------------------


def test_history_extend_fills_every_timeframe_of_a_fresh_market(coins):
    history_extend(source=source(), until=NOW)

    counts = Candle.objects.values_list("coin__symbol", "timeframe").annotate(n=Count("id"))
    per_coin = {}
    for symbol, timeframe, n in counts:
        per_coin.setdefault(symbol, {})[timeframe] = n
    assert set(per_coin) == set(coins)
    for by_timeframe in per_coin.values():
        assert by_timeframe["1m"] >= 1000
        assert by_timeframe["1d"] >= 365
        assert min(by_timeframe[tf] for tf in ("5m", "15m", "1h", "4h")) >= 200


def test_history_extend_of_a_fresh_market_ends_with_the_last_closed_bar_at_the_coins_price(two_coins):
    history_extend(source=source(), until=NOW)

    last = last_bars_for(symbols=two_coins)
    assert last == {"BTC": LastBar(MINUTE - 60, 90000.0), "ETH": LastBar(MINUTE - 60, 3000.0)}
    assert stored("BTC", "1h")[-1, TIME] == MINUTE - MINUTE % 3600 - 3600
    assert stored("BTC", "1d")[-1, TIME] == MINUTE - MINUTE % DAY - DAY


def test_history_extend_stores_higher_timeframes_as_the_rollup_of_lower_ones(two_coins):
    history_extend(source=source(), until=NOW)

    for symbol in two_coins:
        assert_rollups_hold(symbol)


def test_history_extend_returns_how_many_bars_it_wrote(btc_only):
    written = history_extend(source=source(), until=NOW)

    assert written == Candle.objects.count() > 0


@pytest.mark.parametrize(
    "downtime",
    [3 * 3600 + 20 * 60, 2 * DAY + 5 * 3600 + 7 * 60],
    ids=["three hours", "two days"],
)
def test_history_extend_after_downtime_leaves_no_gap_in_minutes(btc_only, downtime):
    history_extend(source=source(), until=NOW)

    history_extend(source=source(), until=NOW + downtime)

    end, minutes = NOW + downtime, stored("BTC", "1m")
    assert_consecutive(minutes, 60)
    assert minutes[-1, TIME] == end - end % 60 - 60
    resumed = np.flatnonzero(minutes[:, TIME] == MINUTE)[0]
    assert minutes[resumed, OPEN] == minutes[resumed - 1, CLOSE]


def test_history_extend_after_days_of_downtime_leaves_no_gap_in_hours(btc_only):
    history_extend(source=source(), until=NOW)

    end = NOW + 5 * DAY + 2 * 3600 + 10 * 60
    history_extend(source=source(), until=end)

    hours, minutes = stored("BTC", "1h"), stored("BTC", "1m")
    assert_consecutive(hours, 3600)
    assert hours[-1, TIME] == end - end % 3600 - 3600
    # Minutes for the rest of the hour after the old last bar, then again for the last three days.
    after = minutes[minutes[:, TIME] >= MINUTE][:, TIME]
    assert after[:44].tolist() == [*range(MINUTE, MINUTE + 43 * 60, 60), end - end % 3600 - 3 * DAY]
    assert_consecutive(minutes[minutes[:, TIME] >= after[43]], 60)
    assert minutes[-1, TIME] == end - end % 60 - 60


@pytest.mark.parametrize(
    "downtime",
    [3 * 3600 + 20 * 60, 2 * DAY + 5 * 3600 + 7 * 60, 5 * DAY + 2 * 3600 + 10 * 60],
    ids=["three hours", "two days", "five days"],
)
def test_history_extend_after_downtime_completes_the_bars_that_straddle_the_old_last_bar(btc_only, downtime):
    history_extend(source=source(), until=NOW)

    history_extend(source=source(), until=NOW + downtime)

    assert MINUTE - MINUTE % 3600 in stored("BTC", "1h")[:, TIME]
    assert_rollups_hold("BTC")


def test_history_extend_after_downtime_makes_as_many_queries_for_five_coins_as_for_one(coins):
    history_extend(source=source(), until=NOW)

    with CaptureQueriesContext(connection) as one:
        history_extend(source=source(), until=NOW + 1800, symbols=["BTC"])
    with CaptureQueriesContext(connection) as five:
        history_extend(source=source(), until=NOW + 1800)

    assert len(five) == len(one)  # the stored bars each rollup completes: one query per timeframe
    for symbol in coins:
        assert_rollups_hold(symbol)


def test_history_extend_with_no_time_passed_writes_nothing(btc_only):
    history_extend(source=source(), until=NOW)
    before = Candle.objects.count()

    written = [history_extend(source=source(), until=NOW), history_extend(source=source(), until=NOW + 30)]

    assert written == [0, 0]
    assert Candle.objects.count() == before


def test_history_extend_continues_each_coin_from_its_own_last_bar(two_coins):
    history_extend(source=source(), until=NOW)
    Candle.objects.filter(coin__symbol="ETH", open_time__gte=datetime.fromtimestamp(MINUTE - 3600, UTC)).delete()

    history_extend(source=source(), until=NOW + 600)

    for symbol in two_coins:
        minutes = stored(symbol, "1m")
        assert_consecutive(minutes, 60)
        assert minutes[-1, TIME] == MINUTE + 540
        assert_rollups_hold(symbol)


# --- candles_store, market_flush, candles_prune ---------------------------------------------------


def bar(time: int, close: float, volume: float = 1.0) -> dict:
    return {
        "time": time,
        "open": 100.0,
        "high": max(close, 100.0),
        "low": min(close, 100.0),
        "close": close,
        "volume": volume,
    }


def ticker(price: float) -> dict:
    return {"price": price, "change24h": 1.5, "volume24h": 2.0e9, "high24h": price * 1.01, "low24h": price * 0.98}


def test_candles_store_writes_every_bar_and_returns_the_count(coins):
    bars = np.array([[MINUTE - 120, 1, 2, 0.5, 1.5, 3], [MINUTE - 60, 1.5, 1.6, 1.4, 1.45, 4]], dtype=float)

    written = candles_store(bars={"1m": {"BTC": bars, "ETH": bars[:1]}, "1h": {"BTC": bars[:1]}})

    assert written == 4
    assert stored("BTC", "1m").tolist() == bars.tolist()
    assert Candle.objects.count() == 4


def test_market_flush_stores_each_coins_latest_figures(coins):
    market_flush(tickers={"BTC": ticker(95000.0), "PEPE": ticker(0.00001)}, closed=[])

    btc, pepe, eth = (Coin.objects.get(symbol=s) for s in ("BTC", "PEPE", "ETH"))
    assert (btc.price, btc.change_24h, btc.volume_24h) == (95000.0, 1.5, 2.0e9)
    assert (btc.high_24h, btc.low_24h) == (95000.0 * 1.01, 95000.0 * 0.98)
    assert btc.market_cap == 95000.0 * 19_900_000
    assert btc.updated_at > timezone.now() - timedelta(seconds=10)
    assert (pepe.price, pepe.market_cap) == (0.00001, None)
    assert eth.price == 3000.0


def test_market_flush_upserts_a_closed_bar_once_with_the_latest_values(coins):
    market_flush(tickers={"BTC": ticker(95000.0)}, closed=[("BTC", "1m", bar(MINUTE, 101.0))])

    market_flush(tickers={"BTC": ticker(95001.0)}, closed=[("BTC", "1m", bar(MINUTE, 99.0, volume=2.5))])

    assert stored("BTC", "1m").tolist() == [[MINUTE, 100.0, 100.0, 99.0, 99.0, 2.5]]


def test_market_flush_stores_bars_of_coins_without_a_ticker_in_the_batch(coins):
    market_flush(tickers={"BTC": ticker(95000.0)}, closed=[("ETH", "1m", bar(MINUTE, 101.0))])

    assert stored("ETH", "1m").tolist() == [[MINUTE, 100.0, 101.0, 100.0, 101.0, 1.0]]
    assert Coin.objects.get(symbol="ETH").price == 3000.0


def test_market_flush_ignores_unknown_symbols(coins):
    market_flush(tickers={"XYZ": ticker(1.0)}, closed=[("XYZ", "1m", bar(MINUTE, 1.0))])

    assert Candle.objects.count() == 0


@pytest.mark.parametrize("count", [2, 5])
def test_market_flush_queries_do_not_grow_with_the_coins(coins, django_assert_num_queries, count):
    symbols = list(coins)[:count]
    closed = [(s, tf, bar(MINUTE, 101.0)) for s in symbols for tf in TIMEFRAME_SECONDS]

    # The coins, one executemany UPDATE, one INSERT of every bar, and two savepoints with their
    # releases (the flush's transaction and the upsert's, both nested in the test's).
    with django_assert_num_queries(7):
        market_flush(tickers={s: ticker(1.0) for s in symbols}, closed=closed)


def test_candles_prune_deletes_only_minutes_past_the_retention(coins):
    now = int(timezone.now().timestamp())
    old, recent = now - 8 * DAY, now - 6 * DAY
    minutes = np.array([[old, 1, 1, 1, 1, 1], [recent, 1, 1, 1, 1, 1]], dtype=float)
    candles_store(bars={"1m": {"BTC": minutes}, "1h": {"BTC": minutes - [[3600 * 24 * 300, 0, 0, 0, 0, 0]]}})

    deleted = candles_prune(keep_days_1m=7)

    assert deleted == 1
    assert stored("BTC", "1m")[:, TIME].tolist() == [recent]
    assert len(stored("BTC", "1h")) == 2


# --- selectors -----------------------------------------------------------------------------


@pytest.mark.parametrize("profiles", [TEST_PROFILES[:1], TEST_PROFILES])
def test_last_bars_for_is_one_query_whatever_the_number_of_coins(db, django_assert_num_queries, profiles):
    coins_seed(profiles=profiles)
    minutes = np.array([[MINUTE - 120, 1, 1, 1, 1.1, 1], [MINUTE - 60, 1, 1, 1, 1.2, 1]], dtype=float)
    candles_store(
        bars={"1m": {p.symbol: minutes for p in profiles}, "1h": {p.symbol: minutes[:1] + 7 for p in profiles}}
    )

    with django_assert_num_queries(1):
        last = last_bars_for(symbols=[p.symbol for p in profiles])

    assert last == {p.symbol: LastBar(MINUTE - 60, 1.2) for p in profiles}


def test_last_bars_for_names_coins_without_bars(coins):
    assert last_bars_for(symbols=["BTC", "ETH"]) == {"BTC": None, "ETH": None}


def test_recent_1m_gives_each_coins_minutes_since_a_time(coins):
    minutes = np.array([[MINUTE - 180 + 60 * k, 1, 2, 0.5, 1.5, k] for k in range(3)], dtype=float)
    candles_store(bars={"1m": {"BTC": minutes, "ETH": minutes[:1]}, "1h": {"SOL": minutes[:1]}})

    recent = recent_1m(since=MINUTE - 120)

    assert set(recent) == {"BTC"}
    assert recent["BTC"].tolist() == minutes[1:].tolist()


def test_candles_for_ends_with_the_forming_bar_from_the_snapshot(coins, django_assert_num_queries):
    minutes = np.array([[MINUTE - 180 + 60 * k, 1, 2, 0.5, 1.5, k] for k in range(3)], dtype=float)
    candles_store(bars={"1m": {"BTC": minutes}})
    forming = {"time": MINUTE, "open": 1.5, "high": 1.7, "low": 1.4, "close": 1.6, "volume": 0.5}
    snapshot.snapshot_store(tickers={"BTC": ticker(1.6)}, bars={"BTC": {"1m": forming}}, version=1, ts=NOW * 1000)

    bars = candles_for(coin=coins["BTC"], timeframe="1m", limit=3)

    assert [b["time"] for b in bars] == [MINUTE - 120, MINUTE - 60, MINUTE]
    assert bars[-1] == forming
    with django_assert_num_queries(0):
        assert candles_for(coin=coins["BTC"], timeframe="1m", limit=3) == bars
