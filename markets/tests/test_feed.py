"""The feed: snapshot, coalesced "prices" messages, candle messages, persistence, failures and restarts."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

import markets.feed
from conftest import TEST_PROFILES
from markets import snapshot
from markets.candles import TIME, bars_rollup
from markets.feed import Feed
from markets.live import prices_messages
from markets.models import Candle, Coin
from markets.services import candles_array, coins_seed
from markets.sources.base import BarUpdate, MarketSource, Resync, Tick
from markets.sources.simulated import SimulatedSource
from markets.timeframes import TIMEFRAME_SECONDS

pytestmark = [pytest.mark.django_db(transaction=True)]

T10 = 1_732_406_400 + 10 * 3600  # 2024-11-24 10:00 UTC
NOW = T10 + 3 * 3600 + 17 * 60 + 25  # 13:17:25


def tick(symbol: str, price: float, second: float, qty: float = 1.0) -> Tick:
    return Tick(symbol, price, qty, int((T10 + second) * 1000), 1.5, 2.0e9, price * 1.01, price * 0.98)


@pytest.fixture(autouse=True)
async def _close_the_feeds_connection():
    """The feed writes from asgiref's sync thread; its connection would keep PostgreSQL's test database open."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
async def listen():
    """Subscribe a new channel to a group; return a function awaiting that channel's next message."""
    layer = get_channel_layer()
    channels = {}

    async def subscribe(group: str):
        channels[group] = await layer.new_channel()
        await layer.group_add(group, channels[group])
        return lambda timeout=2.0: asyncio.wait_for(layer.receive(channels[group]), timeout)

    yield subscribe
    await layer.flush()  # the Redis layer closes its connections while this test's loop runs


async def nothing_more(receive, within: float = 0.3) -> bool:
    try:
        await receive(within)
    except TimeoutError:
        return True
    return False


def stored_minutes(symbol: str) -> list[list[float]]:
    return candles_array(symbol=symbol, timeframe="1m", start=0, end=4_000_000_000).tolist()


# --- One batch -----------------------------------------------------------------------------


async def test_handle_stores_the_snapshot_of_every_ticked_coin(coins):
    feed = Feed(source=None)
    feed.supply = {"BTC": 19_900_000}

    await feed.handle([tick("BTC", 90000.0, 30.25), tick("ETH", 3000.0, 30.25)])

    btc = snapshot.ticker_get("BTC")
    assert btc["ticker"] == {
        "symbol": "BTC",
        "price": 90000.0,
        "change24h": 1.5,
        "volume24h": 2.0e9,
        "high24h": 90000.0 * 1.01,
        "low24h": 90000.0 * 0.98,
        "market_cap": 90000.0 * 19_900_000,
        "ts": (T10 + 30.25) * 1000,
    }
    assert btc["bars"]["1m"] == {
        "time": T10,
        "open": 90000.0,
        "high": 90000.0,
        "low": 90000.0,
        "close": 90000.0,
        "volume": 1.0,
    }
    assert set(btc["bars"]) == set(TIMEFRAME_SECONDS)
    assert snapshot.ticker_get("ETH")["ticker"]["market_cap"] is None
    assert snapshot.ticker_get("SOL") is None
    assert snapshot.market_version() == (T10 + 30.25) * 1000
    assert snapshot.heartbeat_get()["ts"] == (T10 + 30.25) * 1000


async def test_handle_stores_the_latest_figures_on_the_coins(coins):
    feed = Feed(source=None)

    await feed.handle([tick("BTC", 91000.0, 30), tick("ETH", 3100.0, 30)])

    prices = await sync_to_async(lambda: dict(Coin.objects.values_list("symbol", "price")))()
    assert (prices["BTC"], prices["ETH"], prices["SOL"]) == (91000.0, 3100.0, 140.0)


async def test_handle_publishes_one_prices_message_with_every_changed_coin(coins, listen):
    receive = await listen("prices")
    feed = Feed(source=None)

    await feed.handle([tick("BTC", 90000.5, 30), tick("ETH", 3000.25, 30), tick("PEPE", 0.0000095, 30)])

    message = await receive()
    assert message["type"] == "prices.batch"
    assert message["symbols"] == ["BTC", "ETH", "PEPE"]
    assert await nothing_more(receive)


async def test_prices_message_carries_each_ticker_as_json_of_the_websocket_contract(coins, listen):
    receive = await listen("prices")
    feed = Feed(source=None)

    await feed.handle([tick("BTC", 90000.5, 30), tick("ETH", 3000.25, 30)])

    parts = [json.loads(part) for part in (await receive())["json"]]
    assert parts == [
        {
            "type": "ticker",
            "symbol": "BTC",
            "price": 90000.5,
            "change24h": 1.5,
            "volume24h": 2.0e9,
            "ts": (T10 + 30) * 1000,
        },
        {
            "type": "ticker",
            "symbol": "ETH",
            "price": 3000.25,
            "change24h": 1.5,
            "volume24h": 2.0e9,
            "ts": (T10 + 30) * 1000,
        },
    ]


async def test_api_clients_group_carries_no_html(coins, listen):
    receive = await listen("prices")
    await Feed(source=None).handle([tick("BTC", 90000.5, 30)])

    message = await receive()

    assert set(message) == {"type", "symbols", "json"}


async def test_pages_group_gets_each_ticker_as_an_html_fragment(coins, listen):
    receive = await listen("prices.html")
    feed = Feed(source=None)

    await feed.handle([tick("BTC", 90000.5, 30), tick("ETH", 3000.25, 30)])

    html = (await receive())["html"]
    assert len(html) == 2
    assert 'id="p-BTC"' in html[0] and 'id="p-ETH"' in html[1]
    assert all('hx-swap-oob="true"' in fragment for fragment in html)


async def test_prices_fragment_marks_the_direction_of_the_move(coins, listen, settings):
    receive = await listen("prices.html")
    settings.FEED_PUBLISH_INTERVAL = 0
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 90000.0, 30), tick("ETH", 3000.0, 30)])
    await receive()

    await feed.handle([tick("BTC", 90001.0, 31), tick("ETH", 2999.0, 31)])

    btc, eth = (await receive())["html"]
    assert 'class="num price up"' in btc
    assert 'class="num price down"' in eth


async def test_handle_publishes_the_forming_bars_of_every_coin_that_moved_in_one_message(coins, listen):
    receive = await listen("candles")
    feed = Feed(source=None)

    await feed.handle([tick("BTC", 90000.0, 30, qty=2.0), tick("ETH", 3000.0, 30)])

    message = await receive()
    assert message["type"] == "candles.update"
    assert set(message["bars"]) == {"BTC", "ETH"}
    assert set(message["bars"]["BTC"]) == set(TIMEFRAME_SECONDS)
    assert message["bars"]["BTC"]["1h"] == {
        "time": T10,
        "open": 90000.0,
        "high": 90000.0,
        "low": 90000.0,
        "close": 90000.0,
        "volume": 2.0,
    }
    assert await nothing_more(receive)


async def test_handle_ignores_an_empty_batch(coins, listen):
    receive = await listen("prices")

    await Feed(source=None).handle([])

    assert await nothing_more(receive)
    assert snapshot.market_version() == 0


# --- Across batches ------------------------------------------------------------------------


async def test_batch_crossing_a_minute_stores_the_closed_minute(coins):
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 10, qty=1.0)])
    await feed.handle([tick("BTC", 104.0, 40, qty=2.0)])
    await feed.handle([tick("BTC", 99.0, 59, qty=0.5)])
    assert await sync_to_async(Candle.objects.count)() == 0

    await feed.handle([tick("BTC", 101.0, 61, qty=1.0)])

    assert await sync_to_async(stored_minutes)("BTC") == [[T10, 100.0, 104.0, 99.0, 99.0, 3.5]]
    assert await sync_to_async(Candle.objects.count)() == 1


async def test_minute_of_a_coin_that_stopped_ticking_is_stored_when_the_minute_ends(coins):
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 10), tick("ETH", 10.0, 10, qty=3.0)])

    await feed.handle([tick("BTC", 101.0, 65)])

    assert await sync_to_async(stored_minutes)("ETH") == [[T10, 10.0, 10.0, 10.0, 10.0, 3.0]]
    assert snapshot.ticker_get("ETH")["ticker"]["price"] == 10.0


async def test_batch_crossing_an_hour_stores_every_timeframe_that_closed(coins):
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 3599)])

    await feed.handle([tick("BTC", 101.0, 3600)])

    rows = await sync_to_async(lambda: sorted(Candle.objects.values_list("timeframe", flat=True)))()
    assert rows == sorted(["1m", "5m", "15m", "1h"])


async def test_batches_inside_the_publish_interval_are_coalesced_into_one_message(coins, listen, settings):
    receive = await listen("prices")
    settings.FEED_PUBLISH_INTERVAL = 0.5
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 1), tick("ETH", 10.0, 1)])
    first = await receive()

    await feed.handle([tick("BTC", 101.0, 2), tick("ETH", 11.0, 2)])
    await feed.handle([tick("BTC", 102.0, 3), tick("SOL", 5.0, 3)])

    second = await receive()
    assert first["symbols"] == ["BTC", "ETH"]
    assert second["symbols"] == ["BTC", "ETH", "SOL"]
    assert [json.loads(part)["price"] for part in second["json"]] == [102.0, 11.0, 5.0]
    assert await nothing_more(receive)


async def test_coalesced_message_waits_for_the_end_of_the_interval(coins, listen, settings):
    receive = await listen("prices")
    settings.FEED_PUBLISH_INTERVAL = 0.6
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 1)])
    await receive()

    await feed.handle([tick("BTC", 101.0, 2)])

    assert await nothing_more(receive, within=0.25)
    assert json.loads((await receive())["json"][0])["price"] == 101.0


async def test_failed_database_write_is_logged_and_the_next_batch_still_goes_through(
    coins, listen, monkeypatch, caplog, settings
):
    receive = await listen("prices")
    real_flush = markets.feed.market_flush
    calls = []

    def flaky_flush(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise RuntimeError("database is down")
        real_flush(**kwargs)

    monkeypatch.setattr(markets.feed, "market_flush", flaky_flush)
    settings.FEED_PUBLISH_INTERVAL = 0
    feed = Feed(source=None)

    with caplog.at_level(logging.ERROR, logger="markets.feed"):
        await feed.handle([tick("BTC", 100.0, 1)])
    first = await receive()
    await feed.handle([tick("BTC", 101.0, 2)])
    second = await receive()

    assert [r.getMessage() for r in caplog.records] == [
        "Market feed could not store a batch (0 closed bars kept for retry)"
    ]
    assert [json.loads(m["json"][0])["price"] for m in (first, second)] == [100.0, 101.0]
    assert snapshot.ticker_get("BTC")["ticker"]["price"] == 101.0
    assert len(calls) == 2


async def test_bars_that_closed_while_the_database_was_down_are_stored_later(coins, monkeypatch, settings):
    real_flush = markets.feed.market_flush
    down = True

    def flush(**kwargs):
        if down:
            raise RuntimeError("database is down")
        real_flush(**kwargs)

    monkeypatch.setattr(markets.feed, "market_flush", flush)
    settings.FEED_PUBLISH_INTERVAL = 0
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 1)])
    await feed.handle([tick("BTC", 101.0, 61)])  # closes the first minute: the write fails

    assert snapshot.ticker_get("BTC") is None  # the cache does not run ahead of the database
    down = False
    await feed.handle([tick("BTC", 102.0, 62)])

    stored = await sync_to_async(list)(Candle.objects.filter(coin__symbol="BTC", timeframe="1m").values_list("close"))
    assert stored == [(100.0,)]
    assert snapshot.ticker_get("BTC")["ticker"]["price"] == 102.0


def test_prices_fragment_formats_each_figure_for_the_page(coins):
    ticker = {"symbol": "BTC", "price": 97000.5, "change24h": -1.234, "volume24h": 1.2e9, "high24h": 98000.0}
    ticker |= {"low24h": 0.0000095, "market_cap": None, "ts": 1}

    (html,) = dict(prices_messages({"BTC": ticker}, {"BTC": 97000.5}))["prices.html"]["html"]

    assert html == (
        '<span id="p-BTC" class="num price " hx-swap-oob="true">97,000.50</span>'
        '<span id="c-BTC" class="num chg neg" hx-swap-oob="true">-1.23%</span>'
        '<span id="h-BTC" class="num" hx-swap-oob="true">98,000.00</span>'
        '<span id="l-BTC" class="num" hx-swap-oob="true">0.0000095000</span>'
        '<span id="v-BTC" class="num" hx-swap-oob="true">1.20B</span>'
        '<span id="m-BTC" class="num" hx-swap-oob="true">—</span>'
    )


# --- Writing behind the stream -----------------------------------------------------------------


async def test_a_ticker_is_published_while_the_database_write_is_still_running(coins, listen, monkeypatch, settings):
    receive = await listen("prices")
    release = threading.Event()
    real_flush = markets.feed.market_flush

    def slow_flush(**kwargs):
        release.wait(5)
        real_flush(**kwargs)

    monkeypatch.setattr(markets.feed, "market_flush", slow_flush)
    settings.FEED_PUBLISH_INTERVAL = 0
    feed = Feed(source=None)

    await feed.take([tick("BTC", 100.0, 1)])

    assert json.loads((await receive())["json"][0])["price"] == 100.0
    assert snapshot.ticker_get("BTC") is None  # the snapshot waits for the database
    release.set()
    await feed.flush()
    assert snapshot.ticker_get("BTC")["ticker"]["price"] == 100.0


async def test_batches_that_arrive_during_a_write_are_written_together(coins, monkeypatch):
    calls = []
    real_flush = markets.feed.market_flush

    def counting_flush(**kwargs):
        calls.append(sorted((s, t["price"]) for s, t in kwargs["tickers"].items()))
        real_flush(**kwargs)

    monkeypatch.setattr(markets.feed, "market_flush", counting_flush)
    feed = Feed(source=None)
    feed.write_interval = 0.3

    await feed.take([tick("BTC", 100.0, 1)])  # written at once
    await feed.take([tick("BTC", 101.0, 2), tick("ETH", 10.0, 2)])
    await feed.take([tick("BTC", 102.0, 3)])
    await asyncio.sleep(0.5)

    assert calls == [[("BTC", 100.0)], [("BTC", 102.0), ("ETH", 10.0)]]
    assert snapshot.ticker_get("BTC")["ticker"]["price"] == 102.0


# --- Bars from the exchange (a source that streams its 1m bars: Binance) -------------------------


class BarSource(MarketSource):
    """A source that streams its own 1m bars; its history is a fixed set of 1m bars."""

    name = "bars"
    streams_bars = True

    def __init__(self, history: dict[str, np.ndarray] | None = None):
        self.bars = history or {}
        self.history_calls = []

    async def start(self, *, coins, recent_1m) -> None:
        pass

    async def ticks(self) -> AsyncIterator[list]:
        yield []

    def history(self, *, coins, last_bars, until):
        self.history_calls.append(({c.symbol for c in coins}, until))
        return {"1m": {s: b[b[:, TIME] < until] for s, b in self.bars.items()}}

    def order_book(self, symbol, depth):
        raise NotImplementedError

    def recent_trades(self, symbol, limit):
        raise NotImplementedError


def update(symbol: str, minute: int, price: float, volume: float, *, final: bool = False, second: float = 30):
    return BarUpdate(symbol, T10 + 60 * minute, price, price + 1, price - 1, price + 0.5, volume, final,
                     int((T10 + 60 * minute + second) * 1000))  # fmt: skip


async def test_bar_updates_drive_the_candles_and_tickers_do_not(coins):
    feed = Feed(source=BarSource())

    await feed.handle([tick("BTC", 555.0, 10, qty=9.0), update("BTC", 0, 100.0, 2.0)])
    await feed.handle([update("BTC", 0, 100.0, 3.0, final=True, second=60.5), tick("BTC", 556.0, 61, qty=9.0)])

    assert await sync_to_async(stored_minutes)("BTC") == [[T10, 100.0, 101.0, 99.0, 100.5, 3.0]]
    bars = snapshot.ticker_get("BTC")
    assert bars["ticker"]["price"] == 556.0
    assert bars["bars"]["1h"] == {"time": T10, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 3.0}


async def test_bar_updates_publish_the_forming_bars_of_their_coin(coins, listen):
    receive = await listen("candles")
    feed = Feed(source=BarSource())

    await feed.handle([update("ETH", 3, 10.0, 7.0)])

    message = await receive()
    assert set(message["bars"]) == {"ETH"}
    assert message["bars"]["ETH"]["1m"]["volume"] == 7.0
    assert message["bars"]["ETH"]["5m"]["time"] == T10


async def test_a_resync_back_fills_the_missed_minutes_before_the_updates_that_follow(coins):
    missed = np.array([[T10 + 60 * k, 100.0 + k, 101.0 + k, 99.0 + k, 100.5 + k, 1.0] for k in range(5)])
    source = BarSource(history={"BTC": missed})
    feed = Feed(source=source)
    feed.resync_settle = 0.0
    await feed.handle([update("BTC", 0, 50.0, 9.0)])  # a minute of the connection that dropped

    await feed.handle(
        [
            Resync(frozenset({"BTC"}), T10 + 3 * 60 + 5),
            update("BTC", 2, 77.0, 9.0, final=True),  # late: the back-fill has it
            update("BTC", 3, 103.0, 0.5),
        ]
    )

    assert source.history_calls == [({"BTC"}, T10 + 180)]
    assert await sync_to_async(stored_minutes)("BTC") == missed[:3].tolist()
    five = feed.aggregator.bars_of("BTC")["5m"].as_dict()
    assert five == {"time": T10, "open": 100.0, "high": 104.0, "low": 99.0, "close": 103.5, "volume": 3.5}


# --- Running -------------------------------------------------------------------------------


class FlakySource(MarketSource):
    """A source whose first stream fails at once and whose second yields one batch, then idles."""

    name = "flaky"

    def __init__(self):
        self.starts = 0
        self.streams = 0

    async def start(self, *, coins, recent_1m) -> None:
        self.starts += 1

    async def ticks(self) -> AsyncIterator[list[Tick]]:
        self.streams += 1
        if self.streams == 1:
            raise ConnectionError("exchange went away")
        yield [tick("BTC", 100.0, 1)]
        await asyncio.Event().wait()

    def history(self, *, coins, last_bars, until):
        return {}

    def order_book(self, symbol, depth):
        raise NotImplementedError

    def recent_trades(self, symbol, limit):
        raise NotImplementedError


async def test_run_forever_restarts_after_the_source_fails(coins, caplog):
    source = FlakySource()
    feed = Feed(source=source, clock=lambda: T10)

    with caplog.at_level(logging.ERROR, logger="markets.feed"):
        task = asyncio.create_task(feed.run_forever())
        try:
            async with asyncio.timeout(5):
                while snapshot.ticker_get("BTC") is None:
                    await asyncio.sleep(0.02)
        finally:
            task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert (source.starts, source.streams) == (2, 2)
    assert [r.getMessage() for r in caplog.records] == ["Market feed stopped; restarting in 1 s"]
    assert snapshot.ticker_get("BTC")["ticker"]["price"] == 100.0


async def test_run_forever_records_its_start_before_its_first_write(coins):
    feed = Feed(source=FlakySource(), clock=lambda: T10)
    before = time.time()

    task = asyncio.create_task(feed.run_forever())
    try:
        await asyncio.sleep(0)  # the task runs to its first await
        started = snapshot.feed_started_get()
        assert before <= started <= time.time()
        assert snapshot.heartbeat_get() is None  # /api/health: "starting"
        async with asyncio.timeout(5):
            while snapshot.heartbeat_get() is None:
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert snapshot.heartbeat_get()["received"] > started  # /api/health: no longer "starting"


@pytest.fixture
async def two_coins(transactional_db):
    await sync_to_async(coins_seed)(profiles=TEST_PROFILES[:2])


async def test_prepare_back_fills_the_candles_and_starts_the_source(two_coins):
    source = SimulatedSource(seed=3, clock=lambda: NOW)
    feed = Feed(source=source, clock=lambda: NOW)

    await feed.prepare()

    minutes = await sync_to_async(stored_minutes)("BTC")
    assert minutes[-1][TIME] == NOW - NOW % 60 - 60
    assert source.exchange is not None
    assert source.exchange.universe.symbols == ["BTC", "ETH"]
    assert np.exp(source.exchange.log_price).tolist() == pytest.approx([minutes[-1][4], 3000.0])


async def test_prepare_resumes_the_forming_bars_from_the_stored_minutes(two_coins):
    feed = Feed(source=SimulatedSource(seed=3, clock=lambda: NOW), clock=lambda: NOW)

    await feed.prepare()

    minutes = np.array(await sync_to_async(stored_minutes)("BTC"))
    forming = feed.aggregator.bars_of("BTC")
    assert "1m" not in forming
    for timeframe, seconds in TIMEFRAME_SECONDS.items():
        if timeframe == "1m":
            continue
        opened = NOW - NOW % seconds
        expected = bars_rollup(minutes[minutes[:, TIME] >= opened], seconds)
        assert len(expected) == 1
        assert list(forming[timeframe].as_dict().values()) == expected[0].tolist()


def test_resume_rebuilds_only_the_buckets_still_forming():
    minutes = np.array([[T10 + 60 * k, 100.0 + k, 101.0 + k, 99.0 + k, 100.5 + k, 1.0] for k in range(-3, 7)])
    feed = Feed(source=None)

    feed.resume({"BTC": minutes}, now=T10 + 7 * 60 + 5)

    forming = {tf: list(bar.as_dict().values()) for tf, bar in feed.aggregator.bars_of("BTC").items()}
    assert forming == {
        "5m": [T10 + 300, 105.0, 107.0, 104.0, 106.5, 2.0],
        "15m": [T10, 100.0, 107.0, 99.0, 106.5, 7.0],
        "1h": [T10, 100.0, 107.0, 99.0, 106.5, 7.0],
        "4h": [T10 - 2 * 3600, 97.0, 107.0, 96.0, 106.5, 10.0],
        "1d": [T10 - 10 * 3600, 97.0, 107.0, 96.0, 106.5, 10.0],
    }


def test_resumed_bar_closes_with_the_minutes_before_and_the_ticks_after_the_restart():
    minutes = np.array([[T10 + 60 * k, 100.0, 103.0, 98.0, 101.0, 1.0] for k in range(10)])
    feed = Feed(source=None)
    feed.resume({"BTC": minutes}, now=T10 + 10 * 60 + 5)

    feed.aggregator.add("BTC", 104.0, 2.0, T10 + 30 * 60)
    closed = feed.aggregator.add("BTC", 100.0, 1.0, T10 + 3600)

    hour = [list(c.bar.as_dict().values()) for c in closed if c.timeframe == "1h"]
    assert hour == [[T10, 100.0, 104.0, 98.0, 104.0, 12.0]]
