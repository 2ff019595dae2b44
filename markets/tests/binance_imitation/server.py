"""The imitation's server: one object holding the market, the exchange clock and the fault switches,
serving the REST API (``rest``) and the WebSocket streams (``streams``) on aiohttp.

Fault switches: drop every connection after N seconds, drop or stall the open ones now, refuse
new connections, inject raw frames, fail a fraction of REST calls with 503, answer the next
calls with 429/418.
"""

from __future__ import annotations

import random
import time
from contextlib import AbstractContextManager

from aiohttp import web

from markets.tests.binance_imitation.market import LEVELS, ImitatedSymbol, Market, decimal
from markets.tests.binance_imitation.rest import WEIGHT_INTERVALS, RequestRecord, RestApi
from markets.tests.binance_imitation.streams import ConnectionRecord, MarketStreams
from tests.local_server import listen, serving_in_thread


class BinanceImitation(RestApi, MarketStreams):
    """A Binance on 127.0.0.1: a deterministic market served over REST and WebSocket streams.

    ``speed`` runs the exchange clock faster than the wall clock (bars close sooner); weight
    windows, pings and fault timers run on the wall clock, as Binance's would.
    """

    def __init__(
        self,
        symbols: list[ImitatedSymbol],
        *,
        seed: int = 1,
        origin: float | None = None,
        speed: float = 1.0,
        history_days: int = 30,
        history_minutes: int | None = None,
        weight_limit: int = 6000,
        weight_interval: str = "1M",
        ban_seconds: float = 120.0,
        ban_after: int = 10,
        kline_push_interval: float = 2.0,
        ticker_interval: float = 1.0,
        ping_interval: float = 20.0,
        pong_timeout: float = 60.0,
        max_streams: int = 1024,
        max_incoming_per_second: int = 5,
    ):
        self.started = time.time()
        self.origin = self.started if origin is None else origin
        self.speed = speed
        self.market = Market(seed=seed, origin=self.origin, history_days=history_days, history_minutes=history_minutes)
        self.symbols: dict[str, ImitatedSymbol] = {}
        for symbol in symbols:
            self.list_symbol(symbol)
        self.weight_limit = weight_limit
        self.weight_window = int(weight_interval[:-1]) * WEIGHT_INTERVALS[weight_interval[-1]][1]
        self.weight_header = f"X-MBX-USED-WEIGHT-{weight_interval}"
        self.weight_interval = weight_interval
        self.ban_seconds = ban_seconds
        self.ban_after = ban_after  # requests over the limit during a 429's Retry-After before a 418 ban
        self._ignored_429s = 0
        self.kline_push_interval = kline_push_interval
        self.ticker_interval = ticker_interval
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.max_streams = max_streams
        self.max_incoming_per_second = max_incoming_per_second
        # fault switches
        self.drop_after: float | None = None
        self.refuse_connections = False
        self.rest_failure_rate = 0.0
        self.forced: list[tuple[int, float]] = []  # (status, retry-after) for the next requests
        self._rng = random.Random(seed)
        # what happened
        self.requests: list[RequestRecord] = []
        self.connections: list[ConnectionRecord] = []
        self.refused: list[float] = []  # wall times of connection attempts refused
        self.weight_by_window: dict[int, int] = {}
        self._throttled_until = 0.0
        self._banned_until = 0.0
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- the clock and the market -------------------------------------------------------------

    def now(self) -> float:
        """Exchange time, epoch seconds."""
        return self.now_at(time.time())

    def now_at(self, wall: float) -> float:
        """The exchange time at wall-clock time ``wall`` (epoch seconds)."""
        return self.origin + (wall - self.started) * self.speed

    def list_symbol(self, symbol: ImitatedSymbol) -> None:
        self.symbols[symbol.pair] = symbol
        self.market.add(symbol)

    def klines(self, pair: str, interval: str, *, start: int | None = None, end: float | None = None, limit=1000):
        """Bars as the klines endpoint gives them: (open time, o, h, l, c, v) in ticks/lots, oldest first."""
        seconds = LEVELS[interval][0]
        now = self.now()
        last = int(min(now, end if end is not None else now)) // seconds * seconds
        first_listed = self.market.listed_from(pair)
        if start is None:
            first = max(first_listed, last - (limit - 1) * seconds)
        else:
            first = max(first_listed, -(-start // seconds) * seconds)
            last = min(last, first + (limit - 1) * seconds)
        return [(t, *self.market.state(pair, interval, t, now)) for t in range(first, last + 1, seconds)]

    def kline_floats(self, pair: str, interval: str, **kwargs) -> list[list[float]]:
        """The same bars as floats, as a client parses them: [time, open, high, low, close, volume]."""
        p, v = self.symbols[pair].price_decimals, self.symbols[pair].volume_decimals
        return [
            [float(t), *(float(decimal(x, p)) for x in bar[:4]), float(decimal(bar[4], v))]
            for t, *bar in self.klines(pair, interval, **kwargs)
        ]

    # --- fault switches -----------------------------------------------------------------------

    def drop_connections(self) -> None:
        """Cut every open connection without a close frame, as a network failure does."""
        for record in self.open_connections():
            record.drop = True

    def stall_connections(self) -> None:
        """Open connections stop sending data (they stay open and still answer pings)."""
        for record in self.open_connections():
            record.stalled = True

    def inject(self, text: str) -> None:
        """Send ``text`` as-is (say, a malformed message) on every open connection."""
        for record in self.open_connections():
            record.outbox.append(text)

    def force(self, status: int, *, retry_after: float, count: int = 1) -> None:
        """Answer the next ``count`` REST requests with ``status`` (429 or 418) and ``retry_after``."""
        self.forced += [(status, retry_after)] * count

    def open_connections(self) -> list[ConnectionRecord]:
        return [c for c in self.connections if c.closed is None]

    def max_weight_per_window(self) -> int:
        return max(self.weight_by_window.values(), default=0)

    # --- running ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        routes = {
            "/api/v3/ping": self.ping,
            "/api/v3/time": self.time,
            "/api/v3/exchangeInfo": self.exchange_info,
            "/api/v3/ticker/24hr": self.ticker_24hr,
            "/api/v3/klines": self.klines_endpoint,
            "/api/v3/depth": self.depth,
            "/api/v3/trades": self.trades,
        }
        for path, handler in routes.items():
            app.router.add_get(path, self.rest(handler))
        app.router.add_get("/_imitation/stats", self.stats)  # not Binance's: for the benchmarks
        app.router.add_get("/stream", self.websocket)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/ws/{stream}", self.websocket)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner, self.port = await listen(self.app(), host, port)

    async def close(self) -> None:
        for record in self.open_connections():
            record.drop = True
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def imitation_running(imitation: BinanceImitation) -> AbstractContextManager[BinanceImitation]:
    """Serve ``imitation`` from a thread of its own (its own event loop) for the ``with`` block."""
    return serving_in_thread(imitation, "binance-imitation")
