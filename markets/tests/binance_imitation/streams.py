"""The imitation's WebSocket market streams, as Binance serves them.

Combined (``/stream?streams=``, each message wrapped as {"stream", "data"}) and raw (``/ws/<name>``)
connections with ``!miniTicker@arr`` and ``<pair>@kline_1m``, SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS,
ping frames that must be answered with their payload, at most 1,024 streams and 5 incoming
messages a second per connection; and the fault switches' effects (drop, stall, injected frames).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import orjson
from aiohttp import WSMsgType, web

from markets.tests.binance_imitation.market import ImitatedSymbol, decimal
from markets.tests.binance_imitation.rest import kline_row


@dataclass
class ConnectionRecord:
    """One WebSocket connection as the server saw it."""

    opened: float
    streams: list[str]
    combined: bool
    closed: float | None = None
    stalled: bool = False
    drop: bool = False
    pings: int = 0
    pongs: int = 0  # answered with the ping's payload
    messages_sent: int = 0
    incoming: list[float] = field(default_factory=list)
    pending_pings: dict[bytes, float] = field(default_factory=dict)
    outbox: list[str] = field(default_factory=list)  # raw frames to send (fault injection)
    close_reason: str = ""
    transport: asyncio.Transport | None = field(default=None, repr=False)


class MarketStreams:
    """The WebSocket half of BinanceImitation (which holds the market, the clock and the switches)."""

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_connections:
            self.refused.append(time.time())
            return web.Response(status=503, text="Service Unavailable")
        combined = request.path == "/stream"
        if combined:
            streams = [s for s in request.query.get("streams", "").split("/") if s]
        else:
            streams = [request.match_info["stream"]] if "stream" in request.match_info else []
        if len(streams) > self.max_streams:
            body = {"code": -1, "msg": f"Too many streams: at most {self.max_streams} per connection."}
            return web.Response(status=400, body=orjson.dumps(body), content_type="application/json")
        ws = web.WebSocketResponse(autoping=False, max_msg_size=2**22)
        await ws.prepare(request)
        record = ConnectionRecord(opened=time.time(), streams=streams, combined=combined, transport=request.transport)
        self.connections.append(record)
        tasks = [asyncio.create_task(self.send_updates(ws, record)), asyncio.create_task(self.send_pings(ws, record))]
        try:
            await self.receive(ws, record)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            record.closed = time.time()
        return ws

    async def receive(self, ws: web.WebSocketResponse, record: ConnectionRecord) -> None:
        """Answer pings and control messages; hold the client to 5 incoming messages a second."""
        pending = record.pending_pings
        async for message in ws:
            now = time.time()
            record.incoming = [t for t in record.incoming if t > now - 1] + [now]
            if len(record.incoming) > self.max_incoming_per_second:
                record.close_reason = "too many incoming messages"
                await ws.close(code=1008, message=b"Too many requests")
                return
            if message.type == WSMsgType.PING:
                await ws.pong(message.data)
            elif message.type == WSMsgType.PONG and pending.pop(bytes(message.data), None) is not None:
                record.pongs += 1
            elif message.type == WSMsgType.TEXT:
                await ws.send_str(orjson.dumps(self.control(record, message.data)).decode())

    def control(self, record: ConnectionRecord, text: str) -> dict:
        """SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS, answered as Binance does."""
        try:
            request = orjson.loads(text)
            method, params, ident = request["method"], request.get("params", []), request.get("id")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}
        if method == "SUBSCRIBE":
            record.streams += [s for s in params if s not in record.streams]
        elif method == "UNSUBSCRIBE":
            record.streams = [s for s in record.streams if s not in params]
        elif method == "LIST_SUBSCRIPTIONS":
            return {"result": list(record.streams), "id": ident}
        else:
            return {"code": 2, "msg": f"Invalid request: unknown variant {method}", "id": ident}
        return {"result": None, "id": ident}

    async def send_pings(self, ws: web.WebSocketResponse, record: ConnectionRecord) -> None:
        """A ping frame every ``ping_interval``; no pong with its payload within ``pong_timeout`` closes."""
        pending = record.pending_pings
        while not ws.closed:
            await asyncio.sleep(self.ping_interval)
            payload = str(time.time_ns()).encode()
            pending[payload] = time.time()
            record.pings += 1
            await ws.ping(payload)
            if any(time.time() - sent > self.pong_timeout for sent in pending.values()):
                record.close_reason = "no pong"
                await ws.close(code=1008, message=b"Pong timeout")
                return

    async def send_updates(self, ws: web.WebSocketResponse, record: ConnectionRecord) -> None:
        """Push tickers and klines on their schedules; obey the drop and stall switches."""
        next_ticker = next_kline = time.time()
        last_minute: dict[str, int] = {}
        while not ws.closed:
            now = time.time()
            if record.drop or (self.drop_after is not None and now - record.opened >= self.drop_after):
                record.close_reason = "dropped"
                record.transport.abort()  # no close frame: a cut connection
                return
            while record.outbox:
                await ws.send_str(record.outbox.pop(0))
            if not record.stalled:
                if now >= next_ticker and "!miniTicker@arr" in record.streams:
                    await self.send(ws, record, "!miniTicker@arr", self.mini_tickers())
                    next_ticker = now + self.ticker_interval
                if now >= next_kline:
                    await self.send_klines(ws, record, last_minute)
                    next_kline = now + self.kline_push_interval
            await asyncio.sleep(0.02)

    async def send_klines(self, ws: web.WebSocketResponse, record: ConnectionRecord, last: dict[str, int]) -> None:
        """Each kline stream's forming minute, preceded by the final update of every minute that closed."""
        now = self.now()
        minute = int(now) - int(now) % 60
        for stream in list(record.streams):
            pair = stream.split("@")[0].upper()
            symbol = self.symbols.get(pair)
            if not stream.endswith("@kline_1m") or symbol is None or symbol.status != "TRADING":
                continue
            for closed in range(last.get(pair, minute), minute, 60):
                await self.send(ws, record, stream, self.kline_event(symbol, closed, now))
            last[pair] = minute
            await self.send(ws, record, stream, self.kline_event(symbol, minute, now))

    async def send(self, ws: web.WebSocketResponse, record: ConnectionRecord, stream: str, data) -> None:
        """Send an event stamped with the time it leaves (``E``), however long it took to build."""
        sent = int(self.now() * 1000)
        for event in data if isinstance(data, list) else [data]:
            event["E"] = sent
        payload = {"stream": stream, "data": data} if record.combined else data
        await ws.send_str(orjson.dumps(payload).decode())
        record.messages_sent += 1

    def mini_tickers(self) -> list[dict]:
        now = self.now()
        events = []
        for symbol in self.symbols.values():
            if symbol.status != "TRADING":
                continue
            p = symbol.price_decimals
            price, opened, high, low = self.rolling_24h(symbol.pair, now)
            events.append(
                {
                    "e": "24hrMiniTicker",
                    "E": int(now * 1000),
                    "s": symbol.pair,
                    "c": decimal(price, p),
                    "o": decimal(opened, p),
                    "h": decimal(high, p),
                    "l": decimal(low, p),
                    "v": f"{symbol.quote_volume / (price / 10**p):.8f}",
                    "q": f"{symbol.quote_volume:.8f}",
                }
            )
        return events

    def kline_event(self, symbol: ImitatedSymbol, minute: int, now: float) -> dict:
        bar = self.market.state(symbol.pair, "1m", minute, now)
        row = kline_row(symbol, minute, bar, 60)
        return {
            "e": "kline",
            "E": int(now * 1000),
            "s": symbol.pair,
            "k": {
                "t": row[0],
                "T": row[6],
                "s": symbol.pair,
                "i": "1m",
                "f": minute,
                "L": minute + row[8] - 1,
                "o": row[1],
                "c": row[4],
                "h": row[2],
                "l": row[3],
                "v": row[5],
                "n": row[8],
                "x": now >= minute + 60,
                "q": row[7],
                "V": row[9],
                "Q": row[10],
                "B": "0",
            },
        }
