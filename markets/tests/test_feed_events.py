"""The feed's market events: price batches in order with each update's previous price, bars closed
after they are committed, and listeners that fail without stopping the feed."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

import markets.feed
from markets.events import BarsClosed, ClosedBarRow, FormingBars, PriceBatch, market_events
from markets.feed import Feed
from markets.models import Candle, Coin
from markets.tests.test_feed import T10, BarSource, tick, update

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
async def _close_the_feeds_connection():
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def heard():
    """Record every event of the given types that reaches the listeners; forget them afterwards."""
    registered = []

    def record(*event_types: type) -> list:
        events = []

        async def listener(event):
            events.append(event)

        for event_type in event_types:
            market_events.listen(event_type, listener)
            registered.append((event_type, listener))
        return events

    yield record
    for event_type, listener in registered:
        market_events.forget(event_type, listener)


def rows(batch: PriceBatch) -> list[tuple]:
    return list(zip(batch.symbols, batch.previous, batch.prices, batch.ts, strict=True))


def ms(second: float) -> int:
    return int((T10 + second) * 1000)


async def test_a_batch_announces_every_update_in_order_against_the_price_before_it(coins, heard):
    batches = heard(PriceBatch)
    feed = Feed(source=None)

    await feed.handle([tick("BTC", 100.0, 1), tick("ETH", 10.0, 1)])
    await feed.handle([tick("BTC", 101.0, 2), tick("ETH", 9.0, 2), tick("BTC", 99.5, 3)])

    assert [rows(b) for b in batches] == [
        [("BTC", 100.0, 100.0, ms(1)), ("ETH", 10.0, 10.0, ms(1))],
        [("BTC", 100.0, 101.0, ms(2)), ("ETH", 10.0, 9.0, ms(2)), ("BTC", 101.0, 99.5, ms(3))],
    ]


async def test_a_batch_carries_each_coins_latest_ticker(coins, heard):
    batches = heard(PriceBatch)
    feed = Feed(source=None)

    await feed.handle([tick("BTC", 101.0, 2), tick("ETH", 9.0, 2), tick("BTC", 99.5, 3)])

    (batch,) = batches
    assert set(batch.tickers) == {"BTC", "ETH"}
    assert batch.tickers["BTC"]["price"] == 99.5 and batch.tickers["BTC"]["ts"] == ms(3)
    assert batch.tickers["ETH"] == feed.tickers["ETH"]


async def test_batches_taken_from_the_stream_reach_the_listeners_in_order(coins, heard):
    batches = heard(PriceBatch)
    feed = Feed(source=None)
    prices = [100.0 + k for k in range(30)]

    for second, price in enumerate(prices, start=1):
        await feed.take([tick("BTC", price, second)])
    await feed.announced()
    await feed.flush()

    assert [b.prices for b in batches] == [[p] for p in prices]
    assert [b.previous for b in batches] == [[prices[0]]] + [[p] for p in prices[:-1]]


async def test_a_batch_of_bar_updates_alone_announces_no_prices(coins, heard):
    batches = heard(PriceBatch)

    await Feed(source=BarSource()).handle([update("BTC", 0, 100.0, 2.0)])

    assert batches == []


async def test_closed_bars_are_announced_once_committed_to_the_database(coins, heard):
    found = []

    async def look_up(event: BarsClosed):
        query = Candle.objects.filter(coin__symbol="BTC").values_list("timeframe", "open_time", "close")
        stored = await sync_to_async(list)(query)
        found.append((event, sorted((tf, int(opened.timestamp()), close) for tf, opened, close in stored)))

    market_events.listen(BarsClosed, look_up)
    try:
        feed = Feed(source=None)
        await feed.handle([tick("BTC", 100.0, 3590), tick("BTC", 104.0, 3599)])
        await feed.handle([tick("BTC", 101.0, 3600)])
    finally:
        market_events.forget(BarsClosed, look_up)

    (event, stored), *more = found
    announced = sorted((bar.timeframe, bar.time, bar.close) for bar in event.bars)
    assert announced == [
        ("15m", T10 + 2700, 104.0),
        ("1h", T10, 104.0),
        ("1m", T10 + 3540, 104.0),
        ("5m", T10 + 3300, 104.0),
    ]
    assert stored == announced
    assert more == []


async def test_a_closed_bar_is_announced_with_its_figures(coins, heard):
    closed = heard(BarsClosed)
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 10, qty=1.0), tick("BTC", 104.0, 40, qty=2.0), tick("BTC", 99.0, 59)])

    await feed.handle([tick("BTC", 101.0, 61)])

    assert [e.bars for e in closed] == [[ClosedBarRow("BTC", "1m", T10, 100.0, 104.0, 99.0, 99.0, 4.0)]]


async def test_the_exchanges_final_minute_is_announced_when_stored(coins, heard):
    closed = heard(BarsClosed)
    feed = Feed(source=BarSource())

    await feed.handle([update("ETH", 0, 10.0, 2.0)])
    await feed.handle([update("ETH", 0, 10.0, 3.0, final=True, second=60.5)])

    assert [e.bars for e in closed] == [[ClosedBarRow("ETH", "1m", T10, 10.0, 11.0, 9.0, 10.5, 3.0)]]


async def test_bars_a_failed_write_kept_are_announced_when_a_later_write_stores_them(coins, heard, monkeypatch):
    closed = heard(BarsClosed)
    real_flush = markets.feed.market_flush
    down = True

    def flush(**kwargs):
        if down:
            raise RuntimeError("database is down")
        real_flush(**kwargs)

    monkeypatch.setattr(markets.feed, "market_flush", flush)
    feed = Feed(source=None)
    await feed.handle([tick("BTC", 100.0, 1)])
    await feed.handle([tick("BTC", 101.0, 61)])  # closes the first minute: the write fails
    assert closed == []

    down = False
    await feed.handle([tick("BTC", 102.0, 62)])

    assert [[(b.symbol, b.timeframe, b.time) for b in e.bars] for e in closed] == [[("BTC", "1m", T10)]]


async def test_forming_bars_are_announced_for_the_coins_that_moved(coins, heard):
    forming = heard(FormingBars)

    await Feed(source=None).handle([tick("BTC", 100.0, 1), tick("ETH", 10.0, 1)])

    (event,) = forming
    assert set(event.bars) == {"BTC", "ETH"}
    assert event.bars["ETH"]["1m"] == {
        "time": T10,
        "open": 10.0,
        "high": 10.0,
        "low": 10.0,
        "close": 10.0,
        "volume": 1.0,
    }


async def test_a_failing_listener_is_logged_and_the_feed_and_other_listeners_go_on(coins, heard, caplog):
    async def broken(event):
        raise RuntimeError("listener bug")

    market_events.listen(PriceBatch, broken)
    batches = heard(PriceBatch)
    try:
        feed = Feed(source=None)
        with caplog.at_level(logging.ERROR, logger="markets.events"):
            await feed.handle([tick("BTC", 100.0, 1)])
            await feed.handle([tick("BTC", 101.0, 2)])
    finally:
        market_events.forget(PriceBatch, broken)

    assert [b.prices for b in batches] == [[100.0], [101.0]]
    failures = [r for r in caplog.records if r.exc_info and str(r.exc_info[1]) == "listener bug"]
    assert len(failures) == 2
    assert (await Coin.objects.aget(symbol="BTC")).price == 101.0  # the feed still writes


async def test_a_slow_listener_does_not_hold_up_the_stream_and_still_gets_every_batch_in_order(coins):
    release, seen = asyncio.Event(), []

    async def slow(event: PriceBatch):
        await release.wait()
        seen.append(event.prices)

    market_events.listen(PriceBatch, slow)
    try:
        feed = Feed(source=None)
        await feed.take([tick("BTC", 100.0, 1)])
        await feed.take([tick("BTC", 101.0, 2)])  # taken while the listener still waits on the first batch
        assert feed.tickers["BTC"]["price"] == 101.0 and seen == []

        release.set()
        await feed.announced()
        await feed.flush()
    finally:
        market_events.forget(PriceBatch, slow)

    assert seen == [[100.0], [101.0]]
