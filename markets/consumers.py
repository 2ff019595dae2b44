"""The /ws consumer: live tickers, forming candles and (signed-in) notifications.

Client messages are JSON objects with an ``action`` of ``subscribe`` or ``unsubscribe``; see
DESIGN.md. A bad message gets ``{"type": "error", "message": ...}`` and the socket stays open.
Connect with ``?format=html`` to receive tickers as HTML fragments that HTMX swaps into a page.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from markets.fanout import batch_text, live_fanout
from markets.selectors import coin_symbols
from markets.timeframes import TIMEFRAME_SECONDS
from scalpaiboard.metrics import WEBSOCKETS

MAX_SYMBOLS = 500
ALL = "*"


class ProtocolError(Exception):
    """A client message that breaks the protocol; its text is sent back as the error."""


class MarketConsumer(AsyncWebsocketConsumer):
    """One connection: which symbols it follows, in which format, and which candle streams."""

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        self.html = query.get("format", ["json"])[0] == "html"
        self.symbols: set[str] = set()
        self.all_symbols = False
        self.candle_streams: dict[str, set[str]] = {}  # symbol -> timeframes
        await self.accept()
        WEBSOCKETS.inc()

    async def disconnect(self, code: int) -> None:
        WEBSOCKETS.dec()
        fanout = live_fanout(self.channel_layer)
        fanout.unfollow_prices(self)
        fanout.unfollow_candles(self)
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self.channel_layer.group_discard(notifications_group(user.pk), self.channel_name)

    # --- client messages ------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            await self.dispatch_action(self.parse(text_data))
        except ProtocolError as error:
            await self.send_json({"type": "error", "message": str(error)})

    def parse(self, text: str | None) -> dict:
        if text is None:
            raise ProtocolError("messages must be JSON text, not binary")
        try:
            message = json.loads(text)
        except ValueError:
            raise ProtocolError("message is not valid JSON") from None
        if not isinstance(message, dict):
            raise ProtocolError("message must be a JSON object with an 'action'")
        if message.get("action") not in ("subscribe", "unsubscribe"):
            raise ProtocolError("'action' must be 'subscribe' or 'unsubscribe'")
        return message

    async def dispatch_action(self, message: dict) -> None:
        channel = message.get("channel", "prices")
        subscribe = message["action"] == "subscribe"
        if channel == "prices":
            await self.change_prices(message, subscribe)
        elif channel == "candles":
            await self.change_candles(message, subscribe)
        elif channel == "notifications":
            await self.change_notifications(subscribe)
        else:
            raise ProtocolError("'channel' must be 'prices', 'candles' or 'notifications'")

    async def change_prices(self, message: dict, subscribe: bool) -> None:
        requested = message.get("symbols")
        if requested == ALL:
            self.all_symbols = subscribe
            if not subscribe:
                self.symbols.clear()
        else:
            known, unknown = await self.split_symbols(requested)
            (self.symbols.update if subscribe else self.symbols.difference_update)(known)
            if unknown:
                await self.send_json({"type": "error", "message": f"unknown symbols: {', '.join(sorted(unknown))}"})
        await self.follow_prices(self.all_symbols or bool(self.symbols))
        await self.send_json(
            {"type": "subscribed", "channel": "prices", "symbols": ALL if self.all_symbols else sorted(self.symbols)}
        )

    async def split_symbols(self, requested) -> tuple[set[str], set[str]]:
        if not isinstance(requested, list) or not all(isinstance(s, str) for s in requested):
            raise ProtocolError('\'symbols\' must be "*" or a list of symbol strings, e.g. ["BTC", "ETH"]')
        if not requested or len(requested) > MAX_SYMBOLS:
            raise ProtocolError(f"'symbols' must name between 1 and {MAX_SYMBOLS} symbols")
        wanted = {s.strip().upper() for s in requested}
        known = await database_sync_to_async(coin_symbols)()
        return wanted & known, wanted - known

    async def follow_prices(self, follow: bool) -> None:
        fanout = live_fanout(self.channel_layer)
        if follow:
            await fanout.follow_prices(self)
        else:
            fanout.unfollow_prices(self)

    def prices_text(self, symbols: list[str], parts: list[str], everything: str) -> str | None:
        """What this socket is sent of a batch (in its format): all of it, its coins, or nothing."""
        if self.all_symbols:
            return everything
        mine = [p for s, p in zip(symbols, parts, strict=True) if s in self.symbols]
        return batch_text(mine, html=self.html) if mine else None

    async def change_candles(self, message: dict, subscribe: bool) -> None:
        symbol, timeframe = message.get("symbol"), message.get("timeframe")
        if timeframe not in TIMEFRAME_SECONDS:
            raise ProtocolError(f"'timeframe' must be one of {', '.join(TIMEFRAME_SECONDS)}")
        if not isinstance(symbol, str):
            raise ProtocolError("'symbol' must be a symbol string, e.g. \"BTC\"")
        known, _ = await self.split_symbols([symbol])
        if not known:
            raise ProtocolError(f"unknown symbol: {symbol.strip().upper()}")
        symbol = known.pop()
        streams = self.candle_streams.setdefault(symbol, set())
        (streams.add if subscribe else streams.discard)(timeframe)
        if not streams:
            del self.candle_streams[symbol]
        fanout = live_fanout(self.channel_layer)
        if self.candle_streams:
            await fanout.follow_candles(self)
        else:
            fanout.unfollow_candles(self)
        await self.send_json(
            {"type": "subscribed", "channel": "candles", "symbol": symbol, "timeframes": sorted(streams)}
        )

    async def change_notifications(self, subscribe: bool) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise ProtocolError("sign in to subscribe to notifications")
        change = self.channel_layer.group_add if subscribe else self.channel_layer.group_discard
        await change(notifications_group(user.pk), self.channel_name)
        await self.send_json({"type": "subscribed" if subscribe else "unsubscribed", "channel": "notifications"})

    # --- group messages -------------------------------------------------------------------

    async def notification_message(self, event: dict) -> None:
        await self.send_json({"type": "notification", **event["notification"]})

    async def send_json(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))


def notifications_group(user_id) -> str:
    return f"notifications.{user_id}"
