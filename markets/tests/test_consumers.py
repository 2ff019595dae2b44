"""The /ws consumer: subscriptions, coalesced tickers, candles, notifications and bad messages."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from alerts.notifications import notifications_group
from markets.live import CANDLES_GROUP, prices_messages
from scalpaiboard.routing import application

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")


def ticker(symbol: str, price: float) -> dict:
    return {
        "symbol": symbol,
        "price": price,
        "change24h": 1.5,
        "volume24h": 2e9,
        "high24h": price,
        "low24h": price,
        "market_cap": None,
        "ts": 1_795_000_000_000,
    }


async def connect(path: str = "/ws", headers=(ORIGIN, HOST)) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, _ = await communicator.connect(timeout=5)  # generous: the machine may be busy
    assert connected
    return communicator


async def subscribe(communicator, **message) -> dict:
    await communicator.send_json_to({"action": "subscribe", **message})
    return await communicator.receive_json_from(timeout=5)


async def broadcast(*tickers: dict) -> None:
    """Publish a batch the way the feed does."""
    for group, message in prices_messages({t["symbol"]: t for t in tickers}, {}):
        await get_channel_layer().group_send(group, message)


async def test_subscriber_receives_its_symbols_as_one_batch(coins):
    ws = await connect()
    assert await subscribe(ws, symbols=["btc", "ETH"]) == {
        "type": "subscribed",
        "channel": "prices",
        "symbols": ["BTC", "ETH"],
    }
    await broadcast(ticker("BTC", 90000.5), ticker("ETH", 3000.25), ticker("SOL", 140.0))
    message = await ws.receive_json_from()
    assert message["type"] == "tickers"
    assert [t["symbol"] for t in message["data"]] == ["BTC", "ETH"]
    assert message["data"][0] == {
        "type": "ticker", "symbol": "BTC", "price": 90000.5, "change24h": 1.5, "volume24h": 2e9, "ts": 1_795_000_000_000
    }  # fmt: skip
    await ws.disconnect()


async def test_a_single_change_arrives_as_a_ticker(coins):
    ws = await connect()
    await subscribe(ws, symbols=["SOL"])
    await broadcast(ticker("BTC", 1.0), ticker("SOL", 141.0))
    message = await ws.receive_json_from()
    assert message["type"] == "ticker" and message["symbol"] == "SOL" and message["price"] == 141.0
    await ws.disconnect()


async def test_star_subscribes_to_every_symbol(coins):
    ws = await connect()
    assert (await subscribe(ws, symbols="*"))["symbols"] == "*"
    await broadcast(ticker("BTC", 1.0), ticker("DOGE", 0.2), ticker("PEPE", 0.00001))
    message = await ws.receive_json_from()
    assert [t["symbol"] for t in message["data"]] == ["BTC", "DOGE", "PEPE"]
    await ws.disconnect()


async def test_nothing_arrives_for_symbols_not_subscribed(coins):
    ws = await connect()
    await subscribe(ws, symbols=["ETH"])
    await broadcast(ticker("BTC", 1.0))
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_unsubscribe_stops_updates(coins):
    ws = await connect()
    await subscribe(ws, symbols=["BTC", "ETH"])
    await ws.send_json_to({"action": "unsubscribe", "symbols": ["BTC"]})
    assert (await ws.receive_json_from())["symbols"] == ["ETH"]
    await broadcast(ticker("BTC", 1.0))
    assert await ws.receive_nothing(timeout=0.3)
    await ws.send_json_to({"action": "unsubscribe", "symbols": "*"})
    assert (await ws.receive_json_from())["symbols"] == []
    await broadcast(ticker("ETH", 1.0))
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_html_format_receives_fragments_for_htmx(coins):
    ws = await connect("/ws?format=html")
    await subscribe(ws, symbols=["BTC"])
    await broadcast(ticker("BTC", 90000.5))
    html = await ws.receive_from()
    assert 'id="p-BTC"' in html and 'hx-swap-oob="true"' in html
    assert "90,000.50" in html and "+1.50%" in html
    await ws.disconnect()


def candles(**fields) -> str:
    return json.dumps({"action": "subscribe", "channel": "candles", "symbol": "BTC", "timeframe": "1m", **fields})


def prices(**fields) -> str:
    return json.dumps({"action": "subscribe", **fields})


DEEP = 10_000
# Frames that break the protocol, and a part of the error each gets; the socket stays open after each.
MALFORMED_FRAMES = [
    pytest.param("not json", "not valid JSON", id="not JSON"),
    pytest.param(" ", "not valid JSON", id="blank"),
    pytest.param('{"action": "subscribe"', "not valid JSON", id="truncated object"),
    pytest.param("[" * DEEP + "]" * DEEP, "10000 levels deep; at most 32 allowed", id="array nested 10,000 deep"),
    pytest.param('{"a":' * DEEP + "1" + "}" * DEEP, "10000 levels deep", id="object nested 10,000 deep"),
    pytest.param("[" * 33 + "]" * 33, "33 levels deep", id="array nested 33 deep"),
    pytest.param("[" * DEEP, "10000 levels deep", id="10,000 brackets never closed"),
    pytest.param(prices(symbols="[" * DEEP + "]" * DEEP), "'symbols'", id="10,000 brackets in a string"),
    pytest.param('{"action": "subscribe", "symbols": ["\\ud800"]}', "not valid JSON", id="escaped lone surrogate"),
    pytest.param('{"action": "subscribe", "symbols": ["\ud800"]}', "not valid JSON", id="raw lone surrogate"),
    pytest.param('{"action": "subscribe", "x": 1e400}', "not valid JSON", id="number beyond a double"),
    pytest.param('{"action": "subscribe", "x": NaN}', "not valid JSON", id="NaN"),
    pytest.param("[1, 2]", "JSON object", id="array"),
    pytest.param("null", "JSON object", id="null"),
    pytest.param('"subscribe"', "JSON object", id="string"),
    pytest.param("{}", "'action'", id="no action"),
    pytest.param(json.dumps({"action": "dance"}), "'action'", id="unknown action"),
    pytest.param(json.dumps({"action": ["subscribe"]}), "'action'", id="action as a list"),
    pytest.param(json.dumps({"action": {"subscribe": 1}}), "'action'", id="action as an object"),
    pytest.param(json.dumps({"action": None}), "'action'", id="action null"),
    pytest.param(json.dumps({"action": "subscribe", "channel": "gossip"}), "'channel'", id="unknown channel"),
    pytest.param(json.dumps({"action": "subscribe", "channel": ["prices"]}), "'channel'", id="channel as a list"),
    pytest.param(json.dumps({"action": "subscribe", "channel": None}), "'channel'", id="channel null"),
    pytest.param(prices(), "'symbols'", id="no symbols"),
    pytest.param(prices(symbols="BTC"), "'symbols'", id="symbols as a string"),
    pytest.param(prices(symbols={"BTC": 1}), "'symbols'", id="symbols as an object"),
    pytest.param(prices(symbols=[1, 2]), "'symbols'", id="symbols of numbers"),
    pytest.param(prices(symbols=["BTC", ["ETH"]]), "'symbols'", id="a list among the symbols"),
    pytest.param(prices(symbols=["BTC", ""]), "'symbols'", id="an empty symbol"),
    pytest.param(prices(symbols=["X" * 21]), "'symbols'", id="a symbol of 21 characters"),
    pytest.param(prices(symbols=[]), "'symbols'", id="no symbol in the list"),
    pytest.param(prices(symbols=["X"] * 501), "'symbols'", id="501 symbols"),
    pytest.param(candles(timeframe="2m"), "'timeframe'", id="unknown timeframe"),
    pytest.param(candles(timeframe=["1m"]), "'timeframe'", id="timeframe as a list"),
    pytest.param(candles(timeframe={"1m": True}), "'timeframe'", id="timeframe as an object"),
    pytest.param(candles(timeframe=60), "'timeframe'", id="timeframe as a number"),
    pytest.param(candles(symbol=7), "'symbol'", id="symbol as a number"),
    pytest.param(candles(symbol=["BTC"]), "'symbol'", id="symbol as a list"),
    pytest.param(candles(symbol={"BTC": 1}), "'symbol'", id="symbol as an object"),
    pytest.param(candles(symbol="X" * 10_000), "'symbol'", id="symbol of 10,000 characters"),
    pytest.param(candles(symbol="NOPE"), "NOPE", id="unknown symbol"),
    pytest.param(
        json.dumps({"action": "subscribe", "channel": "notifications"}), "sign in", id="notifications, signed out"
    ),
]


@pytest.mark.parametrize(("raw", "error"), MALFORMED_FRAMES)
async def test_bad_messages_get_an_error_and_the_socket_stays_open(coins, raw, error):
    ws = await connect()
    await ws.send_to(text_data=raw)
    reply = await ws.receive_json_from()
    assert reply["type"] == "error" and error in reply["message"]
    assert (await subscribe(ws, symbols=["BTC"]))["type"] == "subscribed"  # still usable
    await ws.disconnect()


async def test_a_failure_of_ours_answers_an_error_logs_it_once_and_keeps_the_socket(coins, monkeypatch, caplog):
    ws = await connect()

    def broken():
        raise RuntimeError("the database went away")

    monkeypatch.setattr("markets.consumers.coin_symbols", broken)
    await ws.send_json_to({"action": "subscribe", "symbols": ["BTC"]})
    assert await ws.receive_json_from() == {"type": "error", "message": "the server failed to handle this message"}
    logged = [r for r in caplog.records if r.name == "markets.consumers"]
    assert [(r.getMessage(), r.exc_info[0]) for r in logged] == [("Could not handle a /ws message", RuntimeError)]
    monkeypatch.undo()
    assert (await subscribe(ws, symbols=["BTC"]))["type"] == "subscribed"
    await ws.disconnect()


async def test_unknown_symbols_are_named_and_known_ones_still_subscribed(coins):
    ws = await connect()
    await ws.send_json_to({"action": "subscribe", "symbols": ["BTC", "NOPE", "ZZZ"]})
    assert await ws.receive_json_from() == {"type": "error", "message": "unknown symbols: NOPE, ZZZ"}
    assert (await ws.receive_json_from())["symbols"] == ["BTC"]
    await ws.disconnect()


async def test_binary_frames_are_refused_with_an_error(coins):
    ws = await connect()
    await ws.send_to(bytes_data=b"\x00\x01")
    assert (await ws.receive_json_from())["type"] == "error"
    await ws.disconnect()


async def test_candle_subscription_receives_the_forming_bar_of_its_timeframe(coins):
    ws = await connect()
    ack = await subscribe(ws, channel="candles", symbol="eth", timeframe="5m")
    assert ack == {"type": "subscribed", "channel": "candles", "symbol": "ETH", "timeframes": ["5m"]}
    bar = {"time": 1_795_000_200, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0}
    other = {**bar, "time": 1_795_000_260}
    await get_channel_layer().group_send(
        CANDLES_GROUP, {"type": "candles.update", "bars": {"ETH": {"5m": bar, "1m": other}, "BTC": {"5m": bar}}}
    )
    assert await ws.receive_json_from() == {"type": "candle", "symbol": "ETH", "timeframe": "5m", **bar}
    assert await ws.receive_nothing(timeout=0.2)
    await ws.send_json_to({"action": "unsubscribe", "channel": "candles", "symbol": "ETH", "timeframe": "5m"})
    assert (await ws.receive_json_from())["timeframes"] == []
    await get_channel_layer().group_send(CANDLES_GROUP, {"type": "candles.update", "bars": {"ETH": {"5m": bar}}})
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


async def test_signed_in_user_receives_notifications(coins, django_user_model):
    user = await sync_to_async(django_user_model.objects.create_user)(username="trader", password="pw-123456789")
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = await connect(headers=[ORIGIN, HOST, (b"cookie", cookie)])
    assert await subscribe(ws, channel="notifications") == {"type": "subscribed", "channel": "notifications"}
    await get_channel_layer().group_send(
        notifications_group(user.pk), {"type": "notification.message", "notification": {"title": "BTC above 100k"}}
    )
    assert await ws.receive_json_from() == {"type": "notification", "title": "BTC above 100k"}
    await ws.disconnect()
