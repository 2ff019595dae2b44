"""The /ws abuse limits (frame size, messages a second, subscriptions, sockets per address) and a
connection count that crashed or cancelled consumers give back."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from markets.consumers import MarketConsumer
from markets.fanout import live_fanout
from markets.socket_limits import OPEN_SOCKETS, MessageRate
from markets.tests.test_consumers import HOST, ORIGIN, subscribe
from scalpaiboard.routing import application

pytestmark = [pytest.mark.django_db(transaction=True)]


def open_sockets() -> float:
    return REGISTRY.get_sample_value("scalpaiboard_websocket_connections")


def communicator(address: str | None = None) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(application, "/ws", headers=[ORIGIN, HOST])
    if address:
        ws.scope["client"] = [address, 50000]  # what the server saw (daphne: the peer or the proxy's header)
    return ws


async def connected(address: str | None = None) -> WebsocketCommunicator:
    ws = communicator(address)
    assert (await ws.connect(timeout=5))[0]
    return ws


# --- frame size ---------------------------------------------------------------------------------


async def test_a_frame_over_the_size_limit_closes_the_socket_with_1009(coins, settings):
    settings.WS_MAX_FRAME_BYTES = 2048
    ws = await connected()
    await ws.send_to(text_data="x" * 2048)  # at the limit: answered
    assert (await ws.receive_json_from())["type"] == "error"
    await ws.send_to(text_data="x" * 2049)
    assert await ws.receive_output() == {"type": "websocket.close", "code": 1009}


async def test_the_size_limit_counts_utf8_bytes_not_characters(coins, settings):
    settings.WS_MAX_FRAME_BYTES = 2048
    ws = await connected()
    await ws.send_to(text_data="é" * 1025)  # 1,025 characters, 2,050 bytes
    assert await ws.receive_output() == {"type": "websocket.close", "code": 1009}


async def test_a_binary_frame_over_the_size_limit_closes_the_socket_with_1009(coins, settings):
    settings.WS_MAX_FRAME_BYTES = 2048
    ws = await connected()
    await ws.send_to(bytes_data=b"\0" * 2049)
    assert await ws.receive_output() == {"type": "websocket.close", "code": 1009}


# --- messages a second --------------------------------------------------------------------------


class Clock:
    """time.monotonic of the rate limiter, moved by the test."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("markets.socket_limits.time.monotonic", clock)
    return clock


TOO_MANY = "too many messages: at most 2 a second, refused ones included; this one was ignored"


async def test_messages_over_the_rate_get_an_error_until_the_bucket_refills(coins, settings, clock):
    settings.WS_MESSAGES_PER_SECOND = 2
    ws = await connected()
    for _ in range(2):  # a burst of one second's worth
        assert (await subscribe(ws, symbols=["BTC"]))["type"] == "subscribed"
    assert await subscribe(ws, symbols=["BTC"]) == {"type": "error", "message": TOO_MANY}
    clock.now += 0.5  # the refused message's token, back
    assert (await subscribe(ws, symbols=["ETH"]))["type"] == "error"
    clock.now += 1.0
    assert (await subscribe(ws, symbols=["ETH"]))["symbols"] == ["BTC", "ETH"]
    await ws.disconnect()


async def test_a_socket_that_keeps_sending_is_closed_with_1008(coins, settings, clock):
    settings.WS_MESSAGES_PER_SECOND = 2  # closed when refusals owe 5 seconds' worth: 10 tokens
    ws = await connected()
    for _ in range(2 + 10):
        await ws.send_to(text_data="{}")
        clock.now += 0.01
    replies = [await ws.receive_output() for _ in range(2 + 9)]
    assert [r["text"].count("too many messages") for r in replies] == [0, 0] + [1] * 9
    assert await ws.receive_output() == {"type": "websocket.close", "code": 1008}


def test_the_message_rate_is_a_token_bucket_that_refusals_draw_on(clock):
    rate = MessageRate(4)
    assert [rate.admit() for _ in range(5)] == [True] * 4 + [False]
    clock.now += 0.5  # two tokens back, one of them owed
    assert [rate.admit() for _ in range(2)] == [True, False]
    clock.now += 60  # never more than a second's worth saved up
    assert sum(rate.admit() for _ in range(10)) == 4  # and 6 tokens owed
    assert sum(rate.admit() for _ in range(13)) == 0 and not rate.flooding
    assert not rate.admit() and rate.flooding  # 20 tokens owed: 5 seconds' worth
    assert MessageRate(0).admit()  # no limit


# --- subscriptions --------------------------------------------------------------------------------


async def test_subscriptions_on_one_socket_are_capped_symbols_and_candle_streams_together(coins, settings):
    settings.WS_MAX_SUBSCRIPTIONS = 3
    ws = await connected()
    assert (await subscribe(ws, symbols=["BTC", "ETH"]))["symbols"] == ["BTC", "ETH"]
    assert (await subscribe(ws, channel="candles", symbol="SOL", timeframe="1m"))["timeframes"] == ["1m"]
    refused = await subscribe(ws, channel="candles", symbol="SOL", timeframe="5m")
    assert refused["type"] == "error" and "at most 3 subscriptions" in refused["message"]
    refused = await subscribe(ws, symbols=["DOGE"])
    assert refused["type"] == "error" and "this would make 4" in refused["message"]
    assert (await subscribe(ws, symbols=["BTC", "ETH"]))["type"] == "subscribed"  # nothing new: no room needed
    assert (await subscribe(ws, channel="candles", symbol="SOL", timeframe="1m"))["timeframes"] == ["1m"]
    await ws.send_json_to({"action": "unsubscribe", "symbols": ["BTC"]})
    assert (await ws.receive_json_from())["symbols"] == ["ETH"]
    assert (await subscribe(ws, channel="candles", symbol="SOL", timeframe="5m"))["timeframes"] == ["1m", "5m"]
    refused = await subscribe(ws, symbols=["BTC", "ETH", "SOL", "DOGE"])
    assert refused == {"type": "error", "message": "'symbols' must name between 1 and 3 symbols"}
    await ws.disconnect()


# --- sockets per address --------------------------------------------------------------------------


async def test_sockets_per_address_are_capped_and_a_closed_one_makes_room(coins, settings):
    settings.WS_MAX_SOCKETS_PER_ADDRESS = 2
    first, second = await connected("203.0.113.7"), await connected("203.0.113.7")
    third = communicator("203.0.113.7")
    assert await third.connect() == (False, 1000)  # refused before accept: daphne answers 403
    await third.disconnect()
    other = await connected("203.0.113.8")
    await first.disconnect()
    again = await connected("203.0.113.7")
    for ws in (second, other, again):
        await ws.disconnect()
    assert OPEN_SOCKETS.count("203.0.113.7") == 0


async def test_sockets_of_no_known_address_are_not_capped_together(coins, settings):
    settings.WS_MAX_SOCKETS_PER_ADDRESS = 1
    sockets = [await connected() for _ in range(3)]
    for ws in sockets:
        await ws.disconnect()


# --- the connections gauge ------------------------------------------------------------------------


async def crash(ws: WebsocketCommunicator) -> None:
    """Make the consumer fail the way a bug does: an exception out of a handler."""
    await ws.send_to(text_data="{}")
    with pytest.raises(RuntimeError, match="a bug"):
        await asyncio.wait_for(ws.future, timeout=5)


async def cancel(ws: WebsocketCommunicator) -> None:
    """End the consumer the way daphne does one that outlives its close timeout."""
    ws.future.cancel()
    with pytest.raises(asyncio.CancelledError):
        await ws.future


@pytest.mark.parametrize(("end", "count"), [(crash, 1000), (cancel, 200)])
async def test_consumers_that_crash_or_are_cancelled_give_back_their_count_and_follows(
    coins, settings, monkeypatch, end, count
):
    settings.WS_MAX_SOCKETS_PER_ADDRESS = count
    before = open_sockets()
    sockets = [await connected("198.51.100.1") for _ in range(count)]
    for ws in sockets:
        assert (await subscribe(ws, symbols=["BTC"]))["type"] == "subscribed"
        assert (await subscribe(ws, channel="candles", symbol="BTC", timeframe="1m"))["type"] == "subscribed"
    assert open_sockets() == before + count

    async def bug(self, text_data=None, bytes_data=None):
        raise RuntimeError("a bug")

    monkeypatch.setattr(MarketConsumer, "receive", bug)
    for ws in sockets:
        await end(ws)

    assert open_sockets() == before
    assert OPEN_SOCKETS.count("198.51.100.1") == 0
    fanout = live_fanout(get_channel_layer())
    assert not fanout.price_followers and not fanout.candle_followers
    monkeypatch.undo()
    await (await connected("198.51.100.1")).disconnect()  # the address has its room back
