"""Starting with another MARKET_SOURCE than the stored market data came from: the old source's candles
are replaced by the new source's back-fill and the coins are listed as the new source lists them, in
one line of log, from both places that start a source (``market_load`` and the feed's ``prepare``).

Binance is the local imitation with its clock standing at NOW; the simulation's data comes from a
simulated start at the same NOW, so that both sources hold bars of the same times.
"""

from __future__ import annotations

import importlib
import io
import logging
import re

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from django.apps import apps
from django.core.management import call_command
from django.db import connections
from django.test import Client

from conftest import TEST_PROFILES
from markets import snapshot
from markets.feed import Feed
from markets.models import Candle, Coin
from markets.selectors import candles_for
from markets.services import candles_array, coins_seed, history_extend
from markets.sources import market_source
from markets.sources.binance import BinanceSource
from markets.sources.binance.rest import BinanceRest, BinanceUnavailable
from markets.sources.simulated import SimulatedSource
from markets.tests.binance_imitation import BinanceImitation, ImitatedSymbol, imitation_running, seed_symbols
from markets.timeframes import TIMEFRAME_SECONDS
from markets.universe import seed_profiles

pytestmark = [pytest.mark.django_db(transaction=True)]

NOW = 1_795_000_000 - 1_795_000_000 % 3600 + 47 * 60 + 31  # hh:47:31 UTC
TOP_N = 3
# The busiest pair on the imitation, and a coin the seed file (the simulation's universe) does not have.
BINANCE_ONLY = ImitatedSymbol("NEWT", 1.25, 5e9)
BINANCE_LISTED = {"NEWT", "BTC", "ETH"}  # the top 3 by volume of NEWT and seed_symbols(5)
SIMULATED = {p.symbol for p in TEST_PROFILES}  # what the simulated start below lists: BTC ETH SOL DOGE PEPE


@pytest.fixture(autouse=True)
async def _close_the_feeds_connections():
    """The feed writes from asgiref's sync thread; its connection would keep PostgreSQL's test database open."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def binance():
    # speed 0: the exchange clock stands still at NOW, the time of the simulated data too.
    with imitation_running(BinanceImitation([*seed_symbols(5), BINANCE_ONLY], origin=NOW, speed=0.0)) as imitation:
        yield imitation


@pytest.fixture
def configure(settings, binance):
    """Set MARKET_SOURCE for ``market_load`` (which builds its source once per process)."""
    settings.MARKET_TOP_N = TOP_N
    settings.BINANCE_REST_URL, settings.BINANCE_WS_URL = binance.rest_url, binance.ws_url

    def source_set(name: str) -> None:
        settings.MARKET_SOURCE = name
        market_source.cache_clear()

    yield source_set
    market_source.cache_clear()


async def market_load(configure, name: str) -> None:
    configure(name)
    await sync_to_async(call_command)("market_load", stdout=io.StringIO())


def binance_source(binance: BinanceImitation) -> BinanceSource:
    rest = BinanceRest(base_url=binance.rest_url, sleep=lambda seconds: None)  # no waits between retries
    return BinanceSource(rest_url=binance.rest_url, ws_url=binance.ws_url, rest=rest, workers=4)


async def start(source, *, now: int = NOW) -> Feed:
    """What the feed does before it streams (run_feed, the embedded feed)."""
    feed = Feed(source=source, clock=lambda: now, top_n=TOP_N)
    await feed.prepare()
    return feed


async def simulated_start() -> int:
    """The five test coins under the simulation, with their history up to NOW; return how many bars."""
    await sync_to_async(coins_seed)(profiles=TEST_PROFILES)
    await start(SimulatedSource(seed=3, clock=lambda: NOW))
    return await sync_to_async(Candle.objects.count)()


def stored(symbol: str, timeframe: str) -> np.ndarray:
    return candles_array(symbol=symbol, timeframe=timeframe, start=0, end=4_000_000_000)


def binance_bars(binance: BinanceImitation, symbol: str, timeframe: str, *, until: int = NOW, count: int = 1000):
    """The imitation's latest ``count`` bars closed by ``until``: what a back-fill from scratch stores."""
    seconds = TIMEFRAME_SECONDS[timeframe]
    bars = np.array(binance.kline_floats(f"{symbol}USDT", timeframe, end=until - 1, limit=count + 1))
    return bars[bars[:, 0] + seconds <= until - until % 60][-count:]


@sync_to_async
def assert_only_binances_bars(binance: BinanceImitation) -> None:
    """Every stored bar is Binance's: its latest klines of each timeframe for the coins it lists, nothing else."""
    for symbol in BINANCE_LISTED:
        for timeframe in TIMEFRAME_SECONDS:
            assert stored(symbol, timeframe).tolist() == binance_bars(binance, symbol, timeframe).tolist(), timeframe
    assert set(Candle.objects.values_list("coin__symbol", flat=True).distinct()) == BINANCE_LISTED


@sync_to_async
def listed() -> set[str]:
    return set(Coin.objects.filter(is_active=True).values_list("symbol", flat=True))


@sync_to_async
def origin() -> dict:
    row = apps.get_model("markets", "MarketDataOrigin").objects.get()
    return {"source": row.source, "backfilled": row.backfilled_at is not None}


def switch_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Market data switch")]


# --- simulation -> Binance -------------------------------------------------------------------


async def test_market_load_replaces_the_simulations_candles_by_binances_back_fill(binance, configure, caplog):
    simulated = await simulated_start()

    with caplog.at_level(logging.INFO):
        await market_load(configure, "binance")

    await assert_only_binances_bars(binance)
    backfilled = await sync_to_async(Candle.objects.count)()
    assert switch_lines(caplog) == [
        f"Market data switched from simulated to binance: {simulated:,} stored candles replaced by "
        f"{backfilled:,} back-filled; 3 coins listed, 3 unlisted (kept, hidden from lists)"
    ]
    assert [r.levelname for r in caplog.records if r.getMessage().startswith("Market data switch")] == ["WARNING"]


async def test_the_feed_replaces_the_simulations_candles_before_it_streams_binance(binance, caplog):
    await simulated_start()
    caplog.clear()

    with caplog.at_level(logging.INFO):
        feed = await start(binance_source(binance))

    await assert_only_binances_bars(binance)
    assert feed.source.symbols == ["NEWT", "BTC", "ETH"]  # streams the coins Binance lists, by volume
    assert len(switch_lines(caplog)) == 1
    assert "Back-filled" not in caplog.text  # the switch's line says it


async def test_coins_binance_does_not_list_are_unlisted_hidden_and_still_reachable(binance, configure):
    await simulated_start()

    await market_load(configure, "binance")

    assert await listed() == BINANCE_LISTED
    pages = await sync_to_async(_pages)(["/api/coins", "/?per_page=100", "/api/coins/DOGE", "/coins/DOGE"])
    assert {c["symbol"] for c in pages["/api/coins"].json()["results"]} == BINANCE_LISTED
    assert _rows(pages["/?per_page=100"]) == BINANCE_LISTED
    assert pages["/api/coins/DOGE"].status_code == pages["/coins/DOGE"].status_code == 200  # kept for references
    assert pages["/api/coins/DOGE"].json()["symbol"] == "DOGE"


def _pages(paths: list[str]) -> dict:
    client = Client()
    return {path: client.get(path) for path in paths}


def _rows(response) -> set[str]:
    """The coins of the dashboard's table."""
    return set(re.findall(r'<tr data-symbol="(\w+)"', response.content.decode()))


async def test_a_switch_forgets_what_the_cache_held_of_the_old_sources_data(binance, configure):
    await simulated_start()
    btc = await sync_to_async(Coin.objects.get)(symbol="BTC")
    await sync_to_async(candles_for)(coin=btc, timeframe="1d", limit=20)  # cached until the next forming bar
    ticker = {"symbol": "DOGE", "price": 0.2, "change24h": 0.0, "volume24h": 1.0, "ts": NOW * 1000}
    await sync_to_async(snapshot.snapshot_store)(tickers={"DOGE": ticker}, bars={}, version=1, ts=NOW * 1000)

    await market_load(configure, "binance")

    bars = await sync_to_async(candles_for)(coin=btc, timeframe="1d", limit=20)
    assert [bar["close"] for bar in bars] == binance_bars(binance, "BTC", "1d", count=20)[:, 4].tolist()
    assert await sync_to_async(snapshot.ticker_get)("DOGE") is None  # no simulated price shown as live


async def test_a_switch_whose_back_fill_failed_is_done_again_at_the_next_start(binance, caplog):
    await simulated_start()
    source = binance_source(binance)
    back_fill = source.history

    def failing_history(**kwargs):
        binance.rest_failure_rate = 1.0  # Binance fails once the switch has deleted the old candles
        return back_fill(**kwargs)

    source.history = failing_history
    with pytest.raises(BinanceUnavailable):
        await start(source)

    assert await sync_to_async(Candle.objects.count)() == 0  # no simulated bar left to pass for Binance's
    assert await origin() == {"source": "binance", "backfilled": False}
    binance.rest_failure_rate = 0.0
    with caplog.at_level(logging.INFO):
        await start(binance_source(binance))

    await assert_only_binances_bars(binance)
    assert await origin() == {"source": "binance", "backfilled": True}
    backfilled = await sync_to_async(Candle.objects.count)()
    assert switch_lines(caplog) == [
        f"Market data switch to binance finished after an interrupted one: 0 stored candles replaced by "
        f"{backfilled:,} back-filled; 3 coins listed, 0 unlisted (kept, hidden from lists)"
    ]


async def test_a_start_with_the_source_the_data_came_from_keeps_it(caplog):
    await simulated_start()
    first = await sync_to_async(stored)("BTC", "1h")

    with caplog.at_level(logging.INFO):
        await start(SimulatedSource(seed=4, clock=lambda: NOW + 7200), now=NOW + 7200)

    later = await sync_to_async(stored)("BTC", "1h")
    assert later[: len(first)].tolist() == first.tolist()  # kept, and extended from its last bar
    assert len(later) > len(first)
    assert switch_lines(caplog) == []
    assert await listed() == SIMULATED


# --- Binance -> simulation -------------------------------------------------------------------


async def test_market_load_lists_the_seed_coins_again_and_simulates_their_candles(binance, configure, caplog):
    await market_load(configure, "binance")
    binances = await sync_to_async(Candle.objects.count)()

    with caplog.at_level(logging.INFO):
        await market_load(configure, "simulated")

    seed = {p.symbol: p for p in seed_profiles()}
    assert await listed() == set(seed)
    newt = await sync_to_async(Coin.objects.get)(symbol="NEWT")
    assert not newt.is_active and not await sync_to_async(newt.candles.exists)()
    btc = await sync_to_async(Coin.objects.get)(symbol="BTC")
    assert (btc.rank, btc.price) == (seed["BTC"].rank, seed["BTC"].price)  # the simulation's figures
    days = await sync_to_async(stored)("BTC", "1d")
    closes = dict(binance_bars(binance, "BTC", "1d")[:, [0, 4]].tolist())
    assert len(days) >= 400 and all(closes.get(t) != close for t, close in days[:, [0, 4]].tolist())
    simulated = await sync_to_async(Candle.objects.count)()
    assert switch_lines(caplog) == [
        f"Market data switched from binance to simulated: {binances:,} stored candles replaced by "
        f"{simulated:,} back-filled; 130 coins listed, 1 unlisted (kept, hidden from lists)"
    ]


# --- data stored before sources were recorded ------------------------------------------------


def record_unknown_origin() -> None:
    """What the migration that introduced the record does on a database it finds."""
    migration = importlib.import_module("markets.migrations.0003_market_data_origin")
    migration.record_unknown_origin(apps, None)


async def test_data_stored_before_sources_were_recorded_is_replaced_at_the_next_start(binance, caplog):
    await sync_to_async(coins_seed)(profiles=TEST_PROFILES)
    await sync_to_async(history_extend)(source=SimulatedSource(seed=3), until=NOW, symbols=["BTC"])
    await sync_to_async(record_unknown_origin)()

    with caplog.at_level(logging.INFO):
        await start(binance_source(binance))

    await assert_only_binances_bars(binance)
    assert switch_lines(caplog)[0].startswith("Market data switched from an unrecorded source to binance: ")


async def test_a_new_database_records_the_source_of_its_first_start():
    await sync_to_async(record_unknown_origin)()  # nothing stored yet: nothing unknown

    await simulated_start()

    assert await origin() == {"source": "simulated", "backfilled": True}
