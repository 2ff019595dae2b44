"""The /ws side of the market events: price batches coalesced into the "prices" and "prices.html" groups."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.layers import get_channel_layer

from markets.events import PriceBatch, market_events
from markets.live import PAGES_GROUP, PRICES_GROUP, prices_announce


def ticker(symbol: str, price: float, ts: int) -> dict:
    figures = {"change24h": 0.5, "volume24h": 1e6, "high24h": price, "low24h": price, "market_cap": None}
    return {"symbol": symbol, "price": price, **figures, "ts": ts}


def batch(*updates: tuple[str, float, float, int]) -> PriceBatch:
    """A batch of (symbol, previous, price, ts) rows, each coin's ticker its last row."""
    return PriceBatch(
        symbols=[u[0] for u in updates],
        previous=[u[1] for u in updates],
        prices=[u[2] for u in updates],
        ts=[u[3] for u in updates],
        tickers={u[0]: ticker(u[0], u[2], u[3]) for u in updates},
    )


@pytest.fixture
async def receive():
    """The next message of a group, awaited with a deadline."""
    layer = get_channel_layer()
    channels = {}
    for group in (PRICES_GROUP, PAGES_GROUP):
        channels[group] = await layer.new_channel()
        await layer.group_add(group, channels[group])
    yield lambda group: asyncio.wait_for(layer.receive(channels[group]), 5)
    await layer.flush()


def test_the_markets_app_registers_the_prices_listener():
    assert prices_announce in market_events.listeners[PriceBatch]


async def test_a_coins_first_message_marks_no_move(receive, settings):
    settings.FEED_PUBLISH_INTERVAL = 0
    await prices_announce(batch(("BTC", 100.0, 100.0, 1)))

    (html,) = (await receive(PAGES_GROUP))["html"]

    assert 'class="num price "' in html


async def test_the_fragment_marks_the_move_since_the_coins_previous_message(receive, settings):
    settings.FEED_PUBLISH_INTERVAL = 0.3
    await prices_announce(batch(("BTC", 100.0, 100.0, 1)))
    await receive(PAGES_GROUP)

    # Within one interval: 100 -> 98 -> 99 is a fall since the last message, though its last step rose.
    await prices_announce(batch(("BTC", 100.0, 98.0, 2), ("BTC", 98.0, 99.0, 3)))

    message = await receive(PAGES_GROUP)
    assert message["symbols"] == ["BTC"]
    assert 'class="num price down"' in message["html"][0] and ">99.000<" in message["html"][0]


async def test_batches_within_one_interval_go_out_as_one_message_with_each_coins_latest_ticker(receive, settings):
    settings.FEED_PUBLISH_INTERVAL = 0.3
    await prices_announce(batch(("BTC", 100.0, 100.0, 1)))
    await receive(PRICES_GROUP)

    await prices_announce(batch(("ETH", 10.0, 11.0, 2), ("BTC", 100.0, 101.0, 2)))
    await prices_announce(batch(("BTC", 101.0, 102.0, 3)))

    message = await receive(PRICES_GROUP)
    assert message["symbols"] == ["ETH", "BTC"]
    assert [(t["symbol"], t["price"], t["ts"]) for t in map(json.loads, message["json"])] == [
        ("ETH", 11.0, 2),
        ("BTC", 102.0, 3),
    ]


async def test_tickers_taken_while_a_message_is_being_sent_go_out_with_the_next(monkeypatch, settings):
    settings.FEED_PUBLISH_INTERVAL = 0
    sent, release = [], asyncio.Event()

    class SlowLayer:
        async def group_send(self, group, message):
            if group == PRICES_GROUP:
                sent.append(message["symbols"])
            if len(sent) == 1:
                await release.wait()  # the first message is still on its way

    monkeypatch.setattr("markets.live.get_channel_layer", SlowLayer)
    await prices_announce(batch(("BTC", 100.0, 100.0, 1)))
    await until(lambda: sent == [["BTC"]])

    await prices_announce(batch(("ETH", 10.0, 10.0, 2)))
    release.set()

    await until(lambda: sent == [["BTC"], ["ETH"]])


async def until(condition, deadline: float = 5.0) -> None:
    """Wait for ``condition`` to hold, failing after ``deadline`` seconds."""
    async with asyncio.timeout(deadline):
        while not condition():
            await asyncio.sleep(0.01)
