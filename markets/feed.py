"""The feed: turns a source's ticks into the latest snapshot, candles and live messages.

Per batch of ticks it updates the forming bar of every timeframe, stores the snapshot in the
cache, publishes one coalesced message to the "prices" group (and each coin's forming bars to
its "candles.<SYMBOL>" group), then writes the coins' 24h figures and the closed bars to the
database in bulk. It runs alone as ``manage.py run_feed`` or inside the server (embedded mode).
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections
from django.template.loader import get_template

from markets import snapshot
from markets.candles import TIME, Bar, CandleAggregator, ClosedBar, bars_rollup
from markets.selectors import coin_profiles, recent_1m
from markets.services import history_extend, market_flush
from markets.sources.base import MarketSource, Tick
from markets.timeframes import TIMEFRAME_SECONDS, bucket_start

logger = logging.getLogger(__name__)

PRICES_GROUP = "prices"
MAX_UNSAVED_BARS = 100_000  # a day of closed bars for about 150 coins, kept through a database outage


def candles_group(symbol: str) -> str:
    return f"candles.{symbol}"


class Feed:
    """One feed per source; ``run_forever`` never returns and survives any single failure."""

    def __init__(self, *, source: MarketSource, publish_interval: float = 0.25, clock=time.time):
        self.source = source
        self.layer = get_channel_layer()
        self.publish_interval = publish_interval
        self.clock = clock
        self.aggregator = CandleAggregator()
        self.tickers: dict[str, dict] = {}
        self.pending: dict[str, dict] = {}  # tickers changed since the last publish
        self.previous_prices: dict[str, float] = {}
        self.supply: dict[str, float | None] = {}
        self.unsaved: list[tuple[str, str, dict]] = []  # closed bars whose write failed
        self.last_publish = 0.0
        self.publish_task: asyncio.Task | None = None
        self.ticker_fragment = get_template("markets/_ticker_oob.html")

    async def run_forever(self) -> None:
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                await self.run()
                logger.warning("Market source %s ended its stream; restarting", self.source.name)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Market feed stopped; restarting in %.0f s", delay)
                await sync_to_async(close_old_connections)()
            if time.monotonic() - started > 300:
                delay = 1.0  # it ran well for a while: this is a new failure, not the same one
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def run(self) -> None:
        await self.prepare()
        async for ticks in self.source.ticks():
            await self.handle(ticks)

    async def prepare(self) -> None:
        """Back-fill candles since the last stored bar, resume the forming bars, start the source."""
        now = self.clock()
        written = await sync_to_async(history_extend)(source=self.source, until=int(now))
        if written:
            logger.info("Back-filled %d candles", written)
        coins = await sync_to_async(coin_profiles)()
        self.supply = {c.symbol: c.circulating_supply for c in coins}
        recent = await sync_to_async(recent_1m)(since=int(now) - 86400)
        self.resume(recent, now)
        await self.source.start(coins=coins, recent_1m=recent)

    def resume(self, recent: dict, now: float) -> None:
        """Rebuild each higher timeframe's forming bar from the 1m bars stored since it opened."""
        for symbol, bars in recent.items():
            for timeframe, seconds in TIMEFRAME_SECONDS.items():
                if timeframe == "1m":
                    continue
                opened = bars[bars[:, TIME] >= bucket_start(now, seconds)]
                if len(opened):
                    rolled = bars_rollup(opened, seconds)[-1]
                    self.aggregator.resume(symbol, timeframe, Bar(int(rolled[0]), *map(float, rolled[1:])))

    async def handle(self, ticks: list[Tick]) -> None:
        """Apply one batch: aggregate, store the snapshot, publish, then persist."""
        if not ticks:
            return
        closed: list[ClosedBar] = []
        for tick in ticks:
            closed += self.aggregator.add(tick.symbol, tick.price, tick.qty, tick.ts / 1000)
            ticker = {
                "symbol": tick.symbol,
                "price": tick.price,
                "change24h": tick.change24h,
                "volume24h": tick.volume24h,
                "high24h": tick.high24h,
                "low24h": tick.low24h,
                "market_cap": tick.price * self.supply[tick.symbol] if self.supply.get(tick.symbol) else None,
                "ts": tick.ts,
            }
            self.tickers[tick.symbol] = self.pending[tick.symbol] = ticker
        ts = max(t.ts for t in ticks)
        closed += self.aggregator.close_due(ts / 1000)
        changed = {t.symbol: self.tickers[t.symbol] for t in ticks}
        bars = {s: {tf: bar.as_dict() for tf, bar in self.aggregator.bars_of(s).items()} for s in changed}
        self.schedule_publish()
        self.unsaved += [(c.symbol, c.timeframe, c.bar.as_dict()) for c in closed]
        if not await self.store(changed):
            return  # the snapshot must not run ahead of the database (see store)
        try:
            await sync_to_async(snapshot.snapshot_store, thread_sensitive=False)(
                tickers=changed, bars=bars, version=ts, ts=ts
            )
            await self.publish_candles(bars)
        except Exception:
            logger.exception("Market feed could not update the cache snapshot")

    async def store(self, tickers: dict[str, dict]) -> bool:
        """Write the coins' figures and every closed bar not yet stored; keep the bars on failure."""
        try:
            # The database before the snapshot: once the snapshot names a new forming bar, the
            # bar it replaced is stored, and once the version moves, the coins table is current.
            await sync_to_async(market_flush)(tickers=tickers, closed=self.unsaved)
        except Exception:
            # A failed write must not stop the feed: the bars are retried with the next batch.
            logger.exception("Market feed could not store a batch (%d closed bars kept for retry)", len(self.unsaved))
            self.unsaved = self.unsaved[-MAX_UNSAVED_BARS:]
            await sync_to_async(close_old_connections)()
            return False
        self.unsaved = []
        return True

    def schedule_publish(self) -> None:
        """Publish now, or at the end of the current interval if a message went out just before."""
        if self.publish_task is not None and not self.publish_task.done():
            return
        delay = self.last_publish + self.publish_interval - time.monotonic()
        self.publish_task = asyncio.ensure_future(self.publish_prices(max(0.0, delay)))

    async def publish_prices(self, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        pending, self.pending = self.pending, {}
        self.last_publish = time.monotonic()
        if pending:
            await self.layer.group_send(PRICES_GROUP, self.prices_message(pending))

    def prices_message(self, tickers: dict[str, dict]) -> dict:
        """The group message: each ticker as a JSON fragment and as an HTML fragment for pages."""
        json_parts, html_parts = [], []
        for symbol, ticker in tickers.items():
            previous = self.previous_prices.get(symbol, ticker["price"])
            self.previous_prices[symbol] = ticker["price"]
            json_parts.append(orjson.dumps({"type": "ticker", **_public(ticker)}).decode())
            direction = "up" if ticker["price"] > previous else "down" if ticker["price"] < previous else ""
            html_parts.append(self.ticker_fragment.render({"t": ticker, "direction": direction}))
        return {"type": "prices.batch", "symbols": list(tickers), "json": json_parts, "html": html_parts}

    async def publish_candles(self, bars: dict[str, dict]) -> None:
        for symbol, by_timeframe in bars.items():
            await self.layer.group_send(
                candles_group(symbol), {"type": "candles.update", "symbol": symbol, "bars": by_timeframe}
            )


def _public(ticker: dict) -> dict:
    """The ticker fields of the WebSocket contract, in its order."""
    return {k: ticker[k] for k in ("symbol", "price", "change24h", "volume24h", "ts")}
