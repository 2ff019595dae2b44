"""Binance's WebSocket market streams: layout over connections, parsing, and each connection's life.

Tickers come from ``!miniTicker@arr`` (every changed symbol once a second), bars from each
symbol's ``<pair>@kline_1m``. Streams are spread over connections within Binance's limits (1,024
streams a connection, URLs under 8,000 characters). Each connection answers pings (the websockets
library does), treats ``silence`` seconds without data as a dead stream, reconnects with
exponential backoff and jitter, and reconnects on its own before Binance's 24-hour cut-off.
After every (re)connect it announces a ``Resync`` so that the feed back-fills what it missed.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from markets.sources.base import BarUpdate, Resync, Tick

logger = logging.getLogger(__name__)

TICKERS_STREAM = "!miniTicker@arr"
MAX_STREAMS = 1024  # per connection (web-socket-streams.md, "WebSocket Limits")
MAX_URL_CHARS = 8000  # Binance refuses longer connection URLs


@dataclass(frozen=True)
class StreamOptions:
    """How connections behave; tests shrink the durations and limits."""

    max_streams: int = MAX_STREAMS
    silence: float = 10.0  # seconds without data after which a connection is dead
    max_age: float = 23.5 * 3600  # reconnect before Binance's 24-hour cut-off
    backoff_base: float = 1.0  # first reconnect delay, doubled per failed attempt
    backoff_cap: float = 60.0
    open_timeout: float = 10.0


def kline_stream(pair: str) -> str:
    return f"{pair.lower()}@kline_1m"


def streams_layout(streams: list[str], *, base_url: str, max_streams: int = MAX_STREAMS) -> list[list[str]]:
    """Split ``streams`` into connections of at most ``max_streams`` streams and MAX_URL_CHARS characters."""
    layout: list[list[str]] = []
    length = 0
    for stream in streams:
        url_length = len(base_url) + len("/stream?streams=") + length + len(stream)
        if not layout or len(layout[-1]) >= max_streams or url_length > MAX_URL_CHARS:
            layout.append([])
            length = 0
        layout[-1].append(stream)
        length += len(stream) + 1
    return layout


def stream_url(base_url: str, streams: list[str]) -> str:
    """The combined-stream URL: each message arrives as {"stream": name, "data": payload}."""
    return f"{base_url.rstrip('/')}/stream?streams={'/'.join(streams)}"


class BadMessage(ValueError):
    """A stream message that does not have the documented shape."""


class ServerShutdown(Exception):
    """Binance announced that this connection's server is about to shut down."""


def message_parse(raw: str | bytes, pairs: dict[str, str]) -> list[Tick | BarUpdate]:
    """The updates in one combined-stream message, for the pairs in ``pairs`` ({pair: coin symbol})."""
    try:
        message = orjson.loads(raw)
        stream, data = message["stream"], message["data"]
        if stream == TICKERS_STREAM:
            return [_tick(item, pairs[item["s"]]) for item in data if item.get("s") in pairs]
        if stream.endswith("@kline_1m"):
            return [_bar_update(data, pairs[data["k"]["s"]])] if data["k"]["s"] in pairs else []
        if stream == "!serverShutdown":
            raise ServerShutdown
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError) as error:
        raise BadMessage(f"{type(error).__name__}: {error}") from None
    return []


def _tick(item: dict, symbol: str) -> Tick:
    """A miniTicker payload; prices and volumes arrive as strings, as in every Binance payload."""
    price, opened = float(item["c"]), float(item["o"])
    return Tick(
        symbol=symbol,
        price=price,
        qty=0.0,  # the mini ticker carries no traded quantity; bars come from klines
        ts=int(item["E"]),
        change24h=(price / opened - 1.0) * 100.0 if opened else 0.0,
        volume24h=float(item["q"]),
        high24h=float(item["h"]),
        low24h=float(item["l"]),
    )


def _bar_update(data: dict, symbol: str) -> BarUpdate:
    k = data["k"]
    return BarUpdate(
        symbol=symbol,
        time=int(k["t"]) // 1000,
        open=float(k["o"]),
        high=float(k["h"]),
        low=float(k["l"]),
        close=float(k["c"]),
        volume=float(k["v"]),
        final=bool(k["x"]),
        ts=int(data["E"]),
    )


def message_time(raw: str | bytes) -> float | None:
    """Exchange time (epoch seconds) of a data message, None when it carries none."""
    try:
        data = orjson.loads(raw)["data"]
        event = data[0] if isinstance(data, list) else data
        return int(event["E"]) / 1000
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
        return None


class StreamConnection:
    """One WebSocket connection carrying ``streams``; ``run`` reconnects for ever and never raises.

    Updates go to ``output`` one list per message, each (re)connect's first preceded by a Resync
    of the symbols whose bars this connection carries.
    """

    def __init__(
        self,
        *,
        base_url: str,
        streams: list[str],
        pairs: dict[str, str],
        output: asyncio.Queue,
        options: StreamOptions,
        name: str = "binance",
    ):
        self.url = stream_url(base_url, streams)
        self.pairs = pairs
        self.symbols = frozenset(pairs[s.split("@")[0].upper()] for s in streams if s.endswith("@kline_1m"))
        self.output = output
        self.options = options
        self.name = name
        self.connects = 0
        self.had_data = False  # whether the current connection has delivered a message
        self.bad_messages = 0
        self._bad_logged = 0.0

    async def run(self) -> None:
        attempt = 0  # failed connections in a row
        while True:
            outcome = "lost"
            self.had_data = False
            try:
                async with connect(
                    self.url,
                    open_timeout=self.options.open_timeout,
                    close_timeout=2,
                    max_size=2**23,  # the all-market ticker array of every Binance pair is ~0.5 MB
                    max_queue=4096,
                    compression=None,
                ) as websocket:
                    self.connects += 1
                    outcome = await self.pump(websocket)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, WebSocketException) as error:
                logger.warning("%s: connection failed or lost: %s: %s", self.name, type(error).__name__, error)
            except Exception:  # never let one connection's surprise end the stream
                logger.exception("%s: unexpected error in the stream", self.name)
            if outcome == "rotate":
                continue  # planned: reconnect at once
            attempt = 0 if self.had_data else attempt + 1
            delay = self.backoff(attempt)
            logger.info("%s: reconnecting in %.1f s", self.name, delay)
            await asyncio.sleep(delay)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half the doubled delay, plus up to as much at random."""
        delay = min(self.options.backoff_cap, self.options.backoff_base * 2**attempt)
        return delay / 2 + random.uniform(0, delay / 2)

    async def pump(self, websocket: ClientConnection) -> str:
        """Forward messages until the connection is lost (raises), goes silent ("dead") or is due
        for renewal ("rotate": its age, or the server announced its shutdown)."""
        opened = time.monotonic()
        while True:
            age_left = opened + self.options.max_age - time.monotonic()
            if age_left <= 0:
                logger.info("%s: reconnecting before the 24-hour cut-off", self.name)
                return "rotate"
            try:
                raw = await asyncio.wait_for(websocket.recv(), timeout=min(self.options.silence, age_left))
            except TimeoutError:
                if opened + self.options.max_age - time.monotonic() > 0:
                    logger.warning(
                        "%s: no data for %.0f s; treating the stream as dead", self.name, self.options.silence
                    )
                    return "dead"
                continue
            try:
                updates = self.parse(raw)
            except ServerShutdown:
                logger.info("%s: the server announced its shutdown; reconnecting", self.name)
                return "rotate"
            if updates is not None:
                await self.forward(raw, updates)

    async def forward(self, raw: str | bytes, updates: list[Tick | BarUpdate]) -> None:
        """Queue a message's updates, the connection's first preceded by a Resync of its symbols."""
        if not self.had_data:
            self.had_data = True
            since = message_time(raw)
            if self.symbols and since is not None:
                await self.output.put([Resync(self.symbols, since)])
        if updates:
            await self.output.put(updates)

    def parse(self, raw: str | bytes) -> list[Tick | BarUpdate] | None:
        """The message's updates; None (logged, at most every 10 s) for a bad one."""
        try:
            return message_parse(raw, self.pairs)
        except BadMessage as error:
            self.bad_messages += 1
            if time.monotonic() - self._bad_logged > 10:
                self._bad_logged = time.monotonic()
                logger.warning(
                    "%s: skipped a bad message (%d so far): %s: %.200r", self.name, self.bad_messages, error, raw
                )
            return None
