"""Binance Spot as a market source: the universe, kline back-fill, live streams, book and trades."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from django.core.cache import cache

from markets.sources.base import (
    BarUpdate,
    CoinProfile,
    LastBar,
    Listing,
    MarketSource,
    OrderBook,
    Resync,
    SourceUnavailable,
    Tick,
    Trade,
)
from markets.sources.binance.rest import BinanceError, BinanceRest, BinanceUnavailable, WeightGovernor
from markets.sources.binance.streams import (
    TICKERS_STREAM,
    StreamConnection,
    StreamOptions,
    kline_stream,
    streams_layout,
)
from markets.sources.binance.universe import listings_from, pair_of
from markets.timeframes import TIMEFRAME_SECONDS, bucket_start

logger = logging.getLogger(__name__)

HISTORY_BARS = 1000  # bars of each timeframe for a coin with none stored (one klines request each)
MAX_BATCH = 20_000  # updates handed to the feed at once
ON_DEMAND_WAIT = 2.0  # seconds a page may wait for the rate limit before it is told to retry
PAUSE_KEY = "binance:paused-until"


class CachePause:
    """A 429/418 pause shared by every process of the deployment through the cache (Redis in full stack)."""

    def until(self) -> float:
        return cache.get(PAUSE_KEY) or 0.0

    def extend(self, until: float) -> None:
        if until > self.until():
            cache.set(PAUSE_KEY, until, timeout=max(1, int(until - time.time()) + 1))


class BinanceSource(MarketSource):
    name = "binance"
    streams_bars = True

    def __init__(
        self,
        *,
        rest_url: str,
        ws_url: str,
        rest: BinanceRest | None = None,
        stream_options: StreamOptions | None = None,
        workers: int = 8,
    ):
        self.rest = rest or BinanceRest(base_url=rest_url, governor=WeightGovernor(shared_pause=CachePause()))
        self.ws_url = ws_url.rstrip("/")
        self.stream_options = stream_options or StreamOptions()
        self.workers = workers
        self.symbols: list[str] = []
        self.connections: list[StreamConnection] = []

    # --- the universe ---------------------------------------------------------------------

    def listings(self) -> list[Listing]:
        """Every TRADING USDT pair with its 24h figures, busiest first."""
        try:
            return listings_from(exchange_info=self.rest.exchange_info(), tickers=self.rest.tickers_24h())
        except (BinanceError, BinanceUnavailable) as error:
            raise SourceUnavailable(f"Binance listings unavailable: {error}") from error

    # --- live -----------------------------------------------------------------------------

    async def start(self, *, coins: list[CoinProfile], recent_1m: dict[str, np.ndarray]) -> None:
        self.symbols = [c.symbol for c in coins]

    async def ticks(self) -> AsyncIterator[list[Tick | BarUpdate | Resync]]:
        """Updates from every connection in arrival order, batched by what arrived meanwhile."""
        queue: asyncio.Queue[list] = asyncio.Queue(maxsize=10_000)
        self.connections = self.connections_plan(queue)
        tasks = [asyncio.create_task(c.run(), name=c.name) for c in self.connections]
        try:
            while True:
                batch = await queue.get()
                while not queue.empty() and len(batch) < MAX_BATCH:
                    batch = batch + queue.get_nowait()
                yield batch
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    def connections_plan(self, queue: asyncio.Queue) -> list[StreamConnection]:
        pairs = {pair_of(s): s for s in self.symbols}
        streams = [TICKERS_STREAM, *(kline_stream(pair) for pair in pairs)]
        layout = streams_layout(streams, base_url=self.ws_url, max_streams=self.stream_options.max_streams)
        return [
            StreamConnection(
                base_url=self.ws_url,
                streams=part,
                pairs=pairs,
                output=queue,
                options=self.stream_options,
                name=f"binance[{index + 1}/{len(layout)}]",
            )
            for index, part in enumerate(layout)
        ]

    # --- history --------------------------------------------------------------------------

    def history(
        self, *, coins: list[CoinProfile], last_bars: dict[str, LastBar | None], until: int
    ) -> dict[str, dict[str, np.ndarray]]:
        """Closed klines since each coin's last stored 1m bar, or the latest HISTORY_BARS of each timeframe.

        A gap that one 1m request covers is fetched at 1m only (the higher bars are rolled up from
        it); a longer one at every timeframe, so that a long downtime costs a few requests a coin.
        """
        until = min(until, self.rest.server_time() // 1000)  # never a bar still forming on Binance
        until -= until % 60
        jobs = [job for coin in coins for job in self._history_jobs(coin.symbol, last_bars.get(coin.symbol), until)]
        out: dict[str, dict[str, np.ndarray]] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="binance-history") as pool:
            for (symbol, timeframe, _), bars in zip(jobs, pool.map(self._klines_job, jobs), strict=True):
                if bars is not None and len(bars):
                    out.setdefault(timeframe, {})[symbol] = bars
        return out

    @staticmethod
    def _history_jobs(symbol: str, last: LastBar | None, until: int) -> list[tuple[str, str, tuple[int | None, int]]]:
        if last is None:
            return [(symbol, tf, (None, until)) for tf in TIMEFRAME_SECONDS]
        start = last.time + 60
        if start >= until:
            return []
        if until - start <= HISTORY_BARS * 60:
            return [(symbol, "1m", (start, until))]
        return [(symbol, tf, (bucket_start(start, s), until)) for tf, s in TIMEFRAME_SECONDS.items()]

    def _klines_job(self, job: tuple[str, str, tuple[int | None, int]]) -> np.ndarray | None:
        symbol, timeframe, (start, until) = job
        try:
            return self.klines_closed(symbol=symbol, timeframe=timeframe, start=start, until=until)
        except BinanceError as error:
            # An unknown or delisted pair (-1121): the universe drops it at its next refresh.
            logger.warning("No %s klines for %s: %s", timeframe, symbol, error)
            return None

    def klines_closed(self, *, symbol: str, timeframe: str, start: int | None, until: int) -> np.ndarray:
        """Closed bars opening in [start, until) (the latest HISTORY_BARS when start is None), paged."""
        seconds = TIMEFRAME_SECONDS[timeframe]
        forming = bucket_start(until, seconds)  # the bar still open at ``until``: not asked for
        pages, cursor = [], start
        while True:
            rows = self.rest.klines(
                pair_of(symbol),
                timeframe,
                start_ms=None if cursor is None else cursor * 1000,
                end_ms=forming * 1000 - 1,
                limit=HISTORY_BARS,
            )
            if rows:
                pages.append(np.array([row[:6] for row in rows], dtype=float))
            if cursor is None or len(rows) < HISTORY_BARS:
                break
            cursor = int(rows[-1][0]) // 1000 + seconds
        bars = np.concatenate(pages) if pages else np.empty((0, 6))
        bars[:, 0] //= 1000
        return bars[bars[:, 0] + seconds <= until]

    # --- on demand ------------------------------------------------------------------------

    def order_book(self, symbol: str, depth: int) -> OrderBook:
        book = self._on_demand(self.rest.depth, symbol, depth)
        return OrderBook(
            symbol=symbol,
            ts=int(time.time() * 1000),
            bids=[(float(p), float(q)) for p, q in book["bids"][:depth]],
            asks=[(float(p), float(q)) for p, q in book["asks"][:depth]],
        )

    def recent_trades(self, symbol: str, limit: int) -> list[Trade]:
        rows = self._on_demand(self.rest.trades, symbol, limit)
        return [
            Trade(
                int(t["id"]), float(t["price"]), float(t["qty"]), "sell" if t["isBuyerMaker"] else "buy", int(t["time"])
            )
            for t in reversed(rows)
        ]

    @staticmethod
    def _on_demand(endpoint, symbol: str, size: int):
        """Call a REST endpoint for a page: never wait long, and turn every failure into SourceUnavailable."""
        try:
            return endpoint(pair_of(symbol), size, max_wait=ON_DEMAND_WAIT)
        except BinanceError as error:
            if error.code == -1121:
                raise SourceUnavailable(f"Binance does not list {pair_of(symbol)}") from error
            raise SourceUnavailable(f"Binance refused the request: {error.message}") from error
        except BinanceUnavailable as error:
            raise SourceUnavailable(str(error)) from error
