"""The /ws consumer: live tickers, forming candles, and (signed-in) notifications and the assistant's chat.

Client messages are JSON objects with an ``action`` of ``subscribe``, ``unsubscribe`` or ``auth``, or
``chat`` and ``cancel`` for the assistant (assistant/consumers.py); see DESIGN.md. Every frame gets a
result or ``{"type": "error", "message": ...}`` and the socket stays open, with two exceptions: a
frame over WS_MAX_FRAME_BYTES closes it with 1009 (message too big), and a socket that keeps sending
faster than WS_MESSAGES_PER_SECOND is closed with 1008 (policy violation) once its refused messages
owe five seconds' worth (markets/socket_limits.py).
Connect with ``?format=html`` to receive tickers as HTML fragments that HTMX swaps into a page.

Notifications are for a signed-in user: the session cookie's (pages), or a JWT access token's (API
clients), sent as ``{"action": "auth", "token": "<access token>"}`` or given as ``?token=`` on the URL.
A refused token is answered with an error; the socket stays open, as it was, for prices.

While the channel layer is unreachable (Redis down), new sockets are refused (HTTP 403 to the
handshake; browsers' pages retry). Open sockets stay open and answer every frame, but get no live
data until the layer is back, when the process's subscriptions are renewed and data flows again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from alerts.notifications import notifications_group
from assistant.consumers import ChatChannel, ChatRefused
from markets.fanout import batch_text, live_fanout
from markets.models import Coin
from markets.selectors import coin_symbols
from markets.socket_limits import OPEN_SOCKETS, MessageRate
from markets.timeframes import TIMEFRAME_SECONDS
from scalpaiboard.api import MAX_JSON_DEPTH, json_depth

logger = logging.getLogger(__name__)

ALL = "*"
ACTIONS = ("subscribe", "unsubscribe", "auth", "chat", "cancel")
CHANNELS = ("prices", "candles", "notifications", "chat")
MAX_SYMBOL_LENGTH = Coin._meta.get_field("symbol").max_length
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TOO_MANY = "too many messages: at most {} a second, refused ones included; this one was ignored"
SIGN_IN = (
    'sign in to subscribe to notifications: with the session of a signed-in page, or send {"action": "auth", '
    '"token": "<JWT access token>"} (or connect with ?token=<JWT access token>) first'
)


class ProtocolError(Exception):
    """A client message that breaks the protocol; its text is sent back as the error."""


class MarketConsumer(AsyncWebsocketConsumer):
    """One connection: which symbols it follows, in which format, and which candle streams."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.html = False
        self.symbols: set[str] = set()
        self.all_symbols = False
        self.candle_streams: dict[str, set[str]] = {}  # symbol -> timeframes
        self.user = None  # the signed-in user: the session's, or the one a JWT names
        self.notifications_group: str | None = None  # the group joined for notifications
        self.address: str | None = None
        self.admitted = False
        self.handshake_seen = False  # connect() ran: before it, only setting up the channel can fail
        self.closing = False
        self.rate = MessageRate(0)
        self.chat = ChatChannel(send_json=self.send_json, user_of=lambda: self.user)

    async def __call__(self, scope, receive, send) -> None:
        """Serve the socket, then release what it holds however it ended: closed, crashed or cancelled."""
        try:
            await super().__call__(scope, receive, send)
        except Exception as error:
            if self.handshake_seen:
                raise
            await self.refuse_without_layer(send, error)
        finally:
            await self.release()

    async def refuse_without_layer(self, send, error: Exception) -> None:
        """Refuse the handshake (403, before accept) of a socket that got no channel from the channel
        layer (Redis unreachable), instead of the 500 daphne answers for an application's exception."""
        logger.warning("Refused a /ws socket: the channel layer gave it no channel (%s)", error)
        await send({"type": "websocket.close"})

    async def connect(self) -> None:
        self.handshake_seen = True
        self.address = client_address(self.scope)
        if not OPEN_SOCKETS.admit(self.address, cap=settings.WS_MAX_SOCKETS_PER_ADDRESS):
            logger.info("Refused a /ws socket: %s already has %s open", self.address, OPEN_SOCKETS.count(self.address))
            await self.close()  # before accept: the handshake is answered 403
            return
        self.admitted = True
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        self.html = query.get("format", ["json"])[0] == "html"
        self.rate = MessageRate(settings.WS_MESSAGES_PER_SECOND)
        session_user = self.scope.get("user")
        self.user = session_user if session_user is not None and session_user.is_authenticated else None
        await self.accept()
        if "token" in query:
            await self.carry_out(self.authenticate(query["token"][0]))

    async def release(self) -> None:
        """Give back the socket's count and memberships; runs once, when its application ends."""
        if self.admitted:
            self.admitted = False
            OPEN_SOCKETS.release(self.address)
        await self.chat.close()
        if getattr(self, "channel_layer", None) is None:
            return  # ended before channels set it up: nothing followed
        fanout = live_fanout(self.channel_layer)
        fanout.unfollow_prices(self)
        fanout.unfollow_candles(self)
        if self.notifications_group is not None:
            group, self.notifications_group = self.notifications_group, None
            await self.leave_notifications(group)

    async def leave_notifications(self, group: str) -> None:
        try:
            await self.channel_layer.group_discard(group, self.channel_name)
        except Exception:  # the layer's membership expires anyway; do not hide why the socket ended
            logger.warning("Could not leave a notifications group", exc_info=True)

    # --- client messages ------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if frame_size(text_data, bytes_data) > settings.WS_MAX_FRAME_BYTES:
            await self.close_with(MESSAGE_TOO_BIG)
        elif not self.rate.admit():
            await self.refuse_over_rate()
        else:
            await self.answer(text_data)

    async def answer(self, text: str | None) -> None:
        """Carry out one message, answering an error for a bad one and for any failure of ours."""
        try:
            message = parse_message(text)
        except ProtocolError as error:
            await self.send_error(str(error))
        else:
            await self.carry_out(self.dispatch_action(message))

    async def carry_out(self, action: Awaitable[None]) -> None:
        """Await ``action``, answering an error for a bad request and for any failure of ours."""
        try:
            await action
        except ProtocolError as error:
            await self.send_error(str(error))
        except Exception:
            logger.exception("Could not handle a /ws message")  # a bug of ours: tell the client, keep the socket
            await self.send_error("the server failed to handle this message")

    async def refuse_over_rate(self) -> None:
        if self.rate.flooding:
            await self.close_with(POLICY_VIOLATION)
        else:
            await self.send_error(TOO_MANY.format(self.rate.per_second))

    async def close_with(self, code: int) -> None:
        self.closing = True
        await self.close(code=code)

    async def dispatch_action(self, message: dict) -> None:
        if message["action"] == "auth":
            await self.authenticate(message.get("token"))
            return
        if message["action"] in ("chat", "cancel") or message.get("channel") == "chat":
            await self.change_chat(message)
            return
        channel = choice(message, "channel", CHANNELS, default="prices")
        subscribe = message["action"] == "subscribe"
        if channel == "prices":
            await self.change_prices(message, subscribe)
        elif channel == "candles":
            await self.change_candles(message, subscribe)
        else:
            await self.change_notifications(subscribe)

    async def change_prices(self, message: dict, subscribe: bool) -> None:
        requested = message.get("symbols")
        if requested == ALL:
            self.all_symbols = subscribe
            if not subscribe:
                self.symbols.clear()
        else:
            known, unknown = await self.split_symbols(requested)
            if subscribe:
                self.check_room(len(known - self.symbols))
            (self.symbols.update if subscribe else self.symbols.difference_update)(known)
            if unknown:
                await self.send_error(f"unknown symbols: {', '.join(sorted(unknown))}")
        await self.follow_prices(self.all_symbols or bool(self.symbols))
        await self.send_json(
            {"type": "subscribed", "channel": "prices", "symbols": ALL if self.all_symbols else sorted(self.symbols)}
        )

    async def split_symbols(self, requested) -> tuple[set[str], set[str]]:
        most = settings.WS_MAX_SUBSCRIPTIONS
        if not isinstance(requested, list) or not all(is_symbol(s) for s in requested):
            raise ProtocolError(
                f"'symbols' must be \"*\" or a list of symbols of up to {MAX_SYMBOL_LENGTH} characters, "
                'e.g. ["BTC", "ETH"]'
            )
        if not requested or len(requested) > most:
            raise ProtocolError(f"'symbols' must name between 1 and {most} symbols")
        wanted = {s.strip().upper() for s in requested}
        known = await database_sync_to_async(coin_symbols)()
        return wanted & known, wanted - known

    def check_room(self, more: int) -> None:
        """Refuse a subscription that would take this socket past WS_MAX_SUBSCRIPTIONS."""
        total = len(self.symbols) + sum(map(len, self.candle_streams.values())) + more
        if total > settings.WS_MAX_SUBSCRIPTIONS:
            raise ProtocolError(
                f"at most {settings.WS_MAX_SUBSCRIPTIONS} subscriptions on one socket (symbols and candle streams "
                f"together); this would make {total}: unsubscribe from some first"
            )

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
        timeframe = choice(message, "timeframe", tuple(TIMEFRAME_SECONDS))
        symbol = message.get("symbol")
        if not is_symbol(symbol):
            raise ProtocolError(f"'symbol' must be a symbol of up to {MAX_SYMBOL_LENGTH} characters, e.g. \"BTC\"")
        known, _ = await self.split_symbols([symbol])
        if not known:
            raise ProtocolError(f"unknown symbol: {symbol.strip().upper()}")
        symbol = known.pop()
        streams = self.candle_streams.setdefault(symbol, set())
        if subscribe and timeframe not in streams:
            self.check_room(1)
        (streams.add if subscribe else streams.discard)(timeframe)
        if not streams:
            del self.candle_streams[symbol]
        await self.follow_candles()
        await self.send_json(
            {"type": "subscribed", "channel": "candles", "symbol": symbol, "timeframes": sorted(streams)}
        )

    async def follow_candles(self) -> None:
        fanout = live_fanout(self.channel_layer)
        if self.candle_streams:
            await fanout.follow_candles(self)
        else:
            fanout.unfollow_candles(self)

    async def change_notifications(self, subscribe: bool) -> None:
        if self.user is None:
            raise ProtocolError(SIGN_IN)
        if subscribe:
            await self.join_notifications()
        elif self.notifications_group is not None:
            await self.channel_layer.group_discard(self.notifications_group, self.channel_name)
            self.notifications_group = None
        await self.send_json({"type": "subscribed" if subscribe else "unsubscribed", "channel": "notifications"})

    async def join_notifications(self) -> None:
        """Follow the current user's notifications (only theirs: another user's group is left first)."""
        group = notifications_group(self.user.pk)
        if self.notifications_group not in (None, group):
            await self.channel_layer.group_discard(self.notifications_group, self.channel_name)
        await self.channel_layer.group_add(group, self.channel_name)
        self.notifications_group = group

    async def change_chat(self, message: dict) -> None:
        """The assistant's chat (assistant/consumers.py): start, follow or cancel an answer."""
        if message["action"] == "unsubscribe":
            raise ProtocolError("the chat channel has no 'unsubscribe': an answer's events end with it")
        try:
            await self.chat.handle(message)
        except ChatRefused as refused:
            raise ProtocolError(str(refused)) from None

    async def authenticate(self, token) -> None:
        """Sign the socket in as the user a JWT access token names; a subscription to notifications
        follows the new user. A refused token leaves the socket as it was."""
        if not isinstance(token, str) or not token.strip():
            raise ProtocolError("'token' must be a JWT access token, as POST /api/auth/token/ answers")
        self.user = await database_sync_to_async(jwt_user)(token.strip())
        if self.notifications_group is not None:
            await self.join_notifications()
        await self.send_json({"type": "authenticated"})

    # --- group messages -------------------------------------------------------------------

    async def notification_message(self, event: dict) -> None:
        await self.send_json({"type": "notification", **event["notification"]})

    async def send_error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

    async def send_json(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))


def jwt_user(token: str):
    """The active user a valid, unexpired JWT access token names; ProtocolError saying why not."""
    try:
        return JWTAuthentication().get_user(AccessToken(token))
    except TokenError as error:
        raise ProtocolError(f"token refused: {error}; get a new access token from POST /api/auth/token/") from None
    except AuthenticationFailed as error:  # no such user, or an inactive one
        detail = error.detail.get("detail", "") if isinstance(error.detail, dict) else error.detail
        raise ProtocolError(f"token refused: {detail}") from None


def parse_message(text: str | None) -> dict:
    """The client message in ``text``: a JSON object with a valid 'action'.

    Nesting is measured before parsing, with the API's rule (scalpaiboard/api.py): the standard
    library's parser exhausted the stack (RecursionError) on a frame of ``[`` repeated.
    """
    if text is None:
        raise ProtocolError("messages must be JSON text, not binary")
    depth = json_depth(text.encode("utf-8", "surrogatepass"))
    if depth > MAX_JSON_DEPTH:
        raise ProtocolError(f"message nests arrays and objects {depth} levels deep; at most {MAX_JSON_DEPTH} allowed")
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ProtocolError(f"message is not valid JSON: {error}") from None
    if not isinstance(message, dict):
        raise ProtocolError("message must be a JSON object with an 'action'")
    choice(message, "action", ACTIONS)
    return message


def choice(message: dict, name: str, choices: tuple[str, ...], *, default: str | None = None) -> str:
    """The string field ``name`` of ``message``, which must be one of ``choices``."""
    value = message.get(name, default)
    if not isinstance(value, str) or value not in choices:
        raise ProtocolError(f"'{name}' must be one of {', '.join(repr(c) for c in choices)}")
    return value


def is_symbol(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_SYMBOL_LENGTH


def frame_size(text: str | None, data: bytes | None) -> int:
    """Bytes of a frame as it came over the wire (text frames are UTF-8)."""
    return len(data or b"") if text is None else len(text.encode("utf-8", "surrogatepass"))


def client_address(scope: dict) -> str | None:
    """The client's IP address: the peer's, or with daphne --proxy-headers the one the proxy names."""
    client = scope.get("client")
    return str(client[0]) if client else None
