"""The feed in Binance mode against the local imitation: live bars, reconnects and stalls without gaps,
universe changes, and how far behind the data is.

The imitation runs its exchange clock 60 times faster than the wall clock (a minute a second), so
that bars of 1m, 5m and 15m close within a test; weights, pings and fault timers stay on the wall
clock. Stored candles are compared with the imitation's own klines of the same interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from markets import snapshot
from markets.candles import TIME, VOLUME
from markets.feed import Feed
from markets.models import Coin
from markets.selectors import feed_status
from markets.services import candles_array
from markets.sources.binance import BinanceSource
from markets.sources.binance.streams import StreamOptions
from markets.tests.binance_imitation import BinanceImitation, ImitatedSymbol, imitation_running, seed_symbols
from markets.timeframes import TIMEFRAME_SECONDS

pytestmark = [pytest.mark.django_db(transaction=True)]

START = 1_795_000_000 - 1_795_000_000 % 900 + 14 * 60 + 40  # hh:mm:40, 20 s before a 15-minute boundary
FAST = StreamOptions(silence=2.0, backoff_base=1.0, backoff_cap=2.0, open_timeout=2.0)


@pytest.fixture(autouse=True)
async def _close_the_feeds_connections():
    yield
    await sync_to_async(connections.close_all)()


def imitation(**options) -> BinanceImitation:
    settings = {"origin": START, "speed": 60.0, "kline_push_interval": 0.1, "ticker_interval": 0.25}
    return BinanceImitation(seed_symbols(4), **(settings | options))


def binance_feed(binance: BinanceImitation, options: StreamOptions = FAST, **kwargs) -> Feed:
    source = BinanceSource(rest_url=binance.rest_url, ws_url=binance.ws_url, stream_options=options, workers=4)
    feed = Feed(source=source, top_n=3, **kwargs)
    feed.resync_settle = 0.0  # the imitation's klines are final the moment a minute ends
    # A bar whose final kline is late closes GRACE exchange seconds after its end: 10 s, a sixth of a
    # wall second at the imitation's speed, which a busy machine can miss (the provisional bar is then
    # stored). A wall second here, as the 10 s are for the real exchange.
    feed.aggregator.grace = 60.0
    return feed


@contextlib.asynccontextmanager
async def running(feed: Feed):
    task = asyncio.create_task(feed.run_forever())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def stored(symbol: str, timeframe: str) -> np.ndarray:
    return candles_array(symbol=symbol, timeframe=timeframe, start=0, end=4_000_000_000)


def assert_matches_binance(binance: BinanceImitation, symbol: str, timeframe: str) -> np.ndarray:
    """Stored bars have no gap, no duplicate, and are the imitation's klines of the same times."""
    bars = stored(symbol, timeframe)
    seconds = TIMEFRAME_SECONDS[timeframe]
    assert set(np.diff(bars[:, TIME]).tolist()) == {seconds}, f"{timeframe}: a gap or a duplicate"
    last = int(bars[-1, TIME])
    wanted = np.array(binance.kline_floats(f"{symbol}USDT", timeframe, end=last, limit=len(bars)))
    assert bars[:, :VOLUME].tolist() == wanted[:, :VOLUME].tolist(), timeframe
    assert bars[:, VOLUME] == pytest.approx(wanted[:, VOLUME], rel=1e-12)
    return bars


def live_minutes_stored(symbols=("BTC", "ETH", "SOL")) -> int:
    """The fewest 1m bars stored since START among ``symbols``: how long the feed has been live."""
    return min(int(np.sum(stored(symbol, "1m")[:, TIME] >= START)) for symbol in symbols)


async def run_until(feed: Feed, done, *, timeout: float = 60.0) -> float:
    """Run the feed until ``done()`` holds (checked every 0.2 s); the exchange time it stopped at.

    A condition, not a fixed sleep: on a busy machine the feed's start (its REST back-fill) takes
    longer, and the imitation's clock runs a minute a second meanwhile.
    """
    deadline = time.monotonic() + timeout
    async with running(feed):
        while not await sync_to_async(done)():
            assert time.monotonic() < deadline, "the feed did not get there in time"
            await asyncio.sleep(0.2)
        return time.time()


async def check_candles(binance: BinanceImitation, *, live_minutes: int, stopped_at: float) -> None:
    """1m, 5m and 15m match Binance, and the feed kept up: when it stopped (``stopped_at``, wall
    time), its last stored minute was at most 2 behind the exchange's."""
    exchange_minute = binance.now_at(stopped_at) // 60 * 60
    for symbol in ("BTC", "ETH", "SOL"):
        minutes = await sync_to_async(assert_matches_binance)(binance, symbol, "1m")
        for timeframe in ("5m", "15m", "1h"):
            await sync_to_async(assert_matches_binance)(binance, symbol, timeframe)
        assert minutes[-1, TIME] >= exchange_minute - 120
        assert np.sum(minutes[:, TIME] >= START) >= live_minutes


# --- live ---------------------------------------------------------------------------------------


async def test_live_klines_close_every_timeframe_as_binance_reports_it():
    binance = imitation()
    with imitation_running(binance):
        feed = binance_feed(binance)
        stopped_at = await run_until(feed, lambda: live_minutes_stored() >= 6)
        await check_candles(binance, live_minutes=6, stopped_at=stopped_at)

        btc = snapshot.ticker_get("BTC")
    assert btc["ticker"]["price"] > 0
    assert set(btc["bars"]) == set(TIMEFRAME_SECONDS)
    assert btc["bars"]["1m"]["time"] >= binance.now_at(stopped_at) // 60 * 60 - 60
    minutes = await sync_to_async(stored)("BTC", "1m")
    forming_hour = btc["bars"]["1h"]
    opened = minutes[minutes[:, TIME] >= forming_hour["time"]]
    assert forming_hour["open"] == opened[0, 1]  # the forming hour continues the stored minutes


async def test_after_dropped_connections_the_candles_have_no_gap_and_no_duplicate():
    binance = imitation()
    binance.drop_after = 2.0  # every connection is cut after two wall seconds (two exchange minutes)
    with imitation_running(binance):
        stopped_at = await run_until(
            binance_feed(binance), lambda: len(binance.connections) >= 3 and live_minutes_stored() >= 5
        )
        await check_candles(binance, live_minutes=5, stopped_at=stopped_at)


async def test_after_a_stall_the_candles_have_no_gap_and_no_duplicate():
    binance = imitation()
    with imitation_running(binance):
        async with running(binance_feed(binance)):
            # Streaming (back-filling first can take seconds on a busy machine), then a while live.
            await wait_until(lambda: snapshot.ticker_get("BTC") is not None, timeout=30)
            await asyncio.sleep(2)
            binance.stall_connections()  # silent but open: only the watchdog notices
            await asyncio.sleep(6)
            stopped_at = time.time()
        assert len(binance.connections) == 2
        assert binance.connections[0].stalled
        await check_candles(binance, live_minutes=5, stopped_at=stopped_at)


# --- the universe -------------------------------------------------------------------------------


async def test_the_feed_starts_again_with_a_coin_that_joins_the_top():
    binance = imitation(speed=1.0, origin=None)
    with imitation_running(binance):
        async with running(binance_feed(binance, universe_interval=0.5)):
            await wait_until(lambda: snapshot.ticker_get("BTC") is not None)
            binance.list_symbol(ImitatedSymbol("NEWT", 1.25, 8e9))
            await wait_until(lambda: snapshot.ticker_get("NEWT") is not None, timeout=15)

    newt = await sync_to_async(Coin.objects.get)(symbol="NEWT")
    assert newt.is_active
    assert len(await sync_to_async(stored)("NEWT", "1d")) == 30  # back-filled when it joined


# --- how far behind -----------------------------------------------------------------------------


async def test_a_lagging_exchange_shows_as_delayed():
    binance = imitation(speed=1.0, origin=time.time() - 30)  # its events are 30 s old when they arrive
    with imitation_running(binance):
        async with running(binance_feed(binance)):
            await wait_until(lambda: snapshot.ticker_get("BTC") is not None)
            status = await sync_to_async(feed_status)()

    assert status["status"] == "delayed"
    assert 29 <= status["delay_seconds"] <= 33


async def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await sync_to_async(condition)():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)
