"""The feed: turns a source's ticks into the latest snapshot, candles and market events.

Per batch of ticks it updates the forming bar of every timeframe and announces the batch's price
updates (``PriceBatch``). Behind it, at most every WRITE_INTERVAL and covering every batch applied
meanwhile, it writes the coins' 24h figures and the closed bars to the database in bulk and
announces those bars once committed (``BarsClosed``), then stores the snapshot in the cache and
announces the forming bars of the coins that moved (``FormingBars``). Who needs them listens
(markets/events.py): the /ws fan-out (markets/live.py), the alert engine. The feed publishes to no
channel group and renders no HTML. It runs alone as ``manage.py run_feed`` or inside the server
(embedded mode).

A source that streams its own 1m bars (Binance) drives the candles with them instead of the
ticks; after each of its reconnects (a Resync) the feed back-fills the bars it missed from the
source's history before it goes on. A source that lists its coins (Binance) has its universe
re-read every few minutes; when the tracked coins change, the feed starts again with the new set.
Before it streams, stored data that came from another source is replaced (``market_data_switch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from markets import snapshot
from markets.candles import TIME, Bar, CandleAggregator, ClosedBar, MinuteAggregator, bars_rollup
from markets.events import BarsClosed, ClosedBarRow, FormingBars, MarketEvent, PriceBatch, market_events
from markets.selectors import coin_profiles, recent_1m
from markets.services import coins_sync, history_extend, market_flush
from markets.source_switch import market_data_switch
from markets.sources.base import BarUpdate, Listing, MarketSource, Resync, Tick
from markets.timeframes import TIMEFRAME_SECONDS, bucket_start

logger = logging.getLogger(__name__)

MAX_UNSAVED_BARS = 100_000  # a day of closed bars for about 150 coins, kept through a database outage
UNIVERSE_REFRESH_SECONDS = 300.0  # how often a listing source's coins are re-read
# The database and the snapshot follow the published prices at most this far behind: what
# changes in between is written once (a coin's ticker and its kline, say, in one write).
WRITE_INTERVAL = 0.5
# After a reconnect, bars before the reconnect's minute come from history: wait until the
# exchange has surely finished the minute that just closed before asking for it.
RESYNC_SETTLE_SECONDS = 2.0
DAY = 86400
# Events waiting for slow listeners beyond this many are worth a warning (listeners must be quick).
EVENTS_BACKLOG_WARNING = 1000


class Feed:
    """One feed per source; ``run_forever`` never returns and survives any single failure."""

    def __init__(
        self,
        *,
        source: MarketSource,
        clock=time.time,
        top_n: int | None = None,
        universe_interval: float = UNIVERSE_REFRESH_SECONDS,
    ):
        self.source = source
        self.clock = clock
        self.top_n = settings.MARKET_TOP_N if top_n is None else top_n
        self.universe_interval = universe_interval
        self.universe_changed = False
        self.resync_settle = RESYNC_SETTLE_SECONDS
        # Bars from the exchange's own 1m bars when it streams them, else from the ticks.
        self.bars_from_ticks = not getattr(source, "streams_bars", False)
        self.aggregator = CandleAggregator() if self.bars_from_ticks else MinuteAggregator()
        self.tickers: dict[str, dict] = {}
        self.supply: dict[str, float | None] = {}
        self.unsaved: list[tuple[str, str, dict]] = []  # closed bars not stored yet
        # What the batches applied since the last write: tickers, symbols whose bars moved, newest time.
        self.dirty_tickers: dict[str, dict] = {}
        self.dirty_bars: set[str] = set()
        self.dirty_ts = 0
        self.applied = self.failed = 0  # batches applied; the count when a write last failed
        self.flush_lock = asyncio.Lock()
        self.writer: asyncio.Task | None = None
        self.write_interval = WRITE_INTERVAL
        self.last_write = 0.0
        self.closes_checked = 0  # the exchange second the forming bars were last checked for closing
        # Events to announce, in order, by one task at a time (apply is synchronous; listeners are not).
        self.outbox: deque[MarketEvent] = deque()
        self.announcer: asyncio.Task | None = None

    async def run_forever(self) -> None:
        # Before the first await: the request that starts an embedded feed already finds it starting.
        snapshot.feed_started_store()
        delay = 1.0
        while True:
            started = time.monotonic()
            try:
                if await self.run():
                    continue  # the coin universe changed: start again at once with the new coins
                logger.warning("Market source %s ended its stream; restarting", self.source.name)
            except asyncio.CancelledError:
                for task in (self.writer, self.announcer):
                    if task is not None:
                        task.cancel()
                raise
            except Exception:
                logger.exception("Market feed stopped; restarting in %.0f s", delay)
                await sync_to_async(close_old_connections)()
            if time.monotonic() - started > 300:
                delay = 1.0  # it ran well for a while: this is a new failure, not the same one
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)

    async def run(self) -> bool:
        """Stream until the source ends (False) or the tracked coins changed (True)."""
        tracks_universe = await self.prepare()
        self.universe_changed = False  # the coins just read are the ones streamed
        watcher = asyncio.create_task(self.universe_watch()) if tracks_universe else None
        try:
            async with contextlib.aclosing(self.source.ticks()) as batches:
                async for events in batches:
                    await self.take(events)
                    if self.universe_changed:
                        return True
        finally:
            if watcher is not None:
                watcher.cancel()
        return False

    async def prepare(self) -> bool:
        """Bring the stored market data up to now (replacing another source's), resume the forming
        bars, start the source. True when the source lists its coins."""
        now = self.clock()
        listings = await sync_to_async(self.source.listings, thread_sensitive=False)()
        await self.catch_up(listings, until=int(now))
        coins = await sync_to_async(coin_profiles)()
        self.supply = {c.symbol: c.circulating_supply for c in coins}
        recent = await sync_to_async(recent_1m)(since=int(now) - DAY)
        self.resume(recent, now)
        await self.source.start(coins=coins, recent_1m=recent)
        return listings is not None

    async def catch_up(self, listings: list[Listing] | None, *, until: int) -> None:
        """Replace the stored data if another source's (the switch back-fills it), else track the
        coins the source lists and back-fill candles since the last stored bar."""
        switched = await sync_to_async(market_data_switch)(
            source=self.source, listings=listings, top_n=self.top_n, until=until
        )
        if switched is not None:
            return
        if listings is not None:
            await self.universe_apply(listings)
        written = await sync_to_async(history_extend)(source=self.source, until=until)
        if written:
            logger.info("Back-filled %d candles", written)

    async def universe_sync(self) -> bool:
        """Track the coins the source lists (top N plus pinned); False when it has a fixed universe."""
        listings = await sync_to_async(self.source.listings, thread_sensitive=False)()
        if listings is None:
            return False
        await self.universe_apply(listings)
        return True

    async def universe_apply(self, listings: list[Listing]) -> None:
        """Track the top N of ``listings`` plus the pinned coins; note a change for the stream to restart."""
        added, dropped = await sync_to_async(coins_sync)(listings=listings, top_n=self.top_n)
        if added or dropped:
            logger.info(
                "Coins tracked: +%s -%s", ",".join(sorted(added)) or "none", ",".join(sorted(dropped)) or "none"
            )
            self.universe_changed = True

    async def universe_watch(self) -> None:
        """Re-read the source's coins every ``universe_interval`` seconds; a failure keeps the current ones."""
        while not self.universe_changed:
            await asyncio.sleep(self.universe_interval)
            try:
                await self.universe_sync()
            except Exception:
                logger.exception("Could not refresh the coins the exchange lists; keeping the current ones")

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

    async def handle(self, events: list[Tick | BarUpdate | Resync]) -> None:
        """Apply a batch, write it and announce it before returning."""
        await self.absorb(events)
        await self.flush()
        await self.announced()

    async def take(self, events: list[Tick | BarUpdate | Resync]) -> None:
        """Apply a batch from the stream; its writes happen in the background, together with those
        of the batches that arrive meanwhile, so that the next tickers are published at once."""
        await self.absorb(events)
        if self.writer is None or self.writer.done():
            self.writer = asyncio.create_task(self.flush(paced=True))
        await asyncio.sleep(0)  # the announcements and the writer run between two batches

    async def absorb(self, events: list[Tick | BarUpdate | Resync]) -> None:
        """Apply a batch in order; where a Resync marks a reconnect, write and back-fill first."""
        start = 0
        for index, event in enumerate(events):
            if isinstance(event, Resync):
                self.apply(events[start:index])
                await self.flush()
                await self.resync(event)
                start = index + 1
        self.apply(events[start:])

    def apply(self, events: list[Tick | BarUpdate]) -> None:
        """Apply updates in memory: the tickers (announced at once) and the forming and closed bars."""
        if not events:
            return
        closed: list[ClosedBar] = []
        prices = PriceBatch([], [], [], [], {})
        for event in events:
            if isinstance(event, Tick):
                prices_add(prices, event, self.tickers.get(event.symbol))
                self.dirty_tickers[event.symbol] = prices.tickers[event.symbol] = self.ticker_update(event)
                if self.bars_from_ticks:
                    closed += self.aggregator.add(event.symbol, event.price, event.qty, event.ts / 1000)
                    self.dirty_bars.add(event.symbol)
            else:
                bar = Bar(event.time, event.open, event.high, event.low, event.close, event.volume)
                closed += self.aggregator.add_minute(event.symbol, bar, event.final)
                self.dirty_bars.add(event.symbol)
        ts = max(e.ts for e in events)
        self.dirty_ts = max(self.dirty_ts, ts)
        if ts // 1000 != self.closes_checked:  # once an exchange second is enough: bars end on whole seconds
            self.closes_checked = ts // 1000
            closed += self.aggregator.close_due(ts / 1000)
        self.unsaved += [(c.symbol, c.timeframe, c.bar.as_dict()) for c in closed]
        self.applied += 1
        if prices.symbols:
            self.announce(prices)

    def announce(self, event: MarketEvent) -> None:
        """Queue ``event`` for the listeners; one task announces the queue in order, without holding up the feed."""
        self.outbox.append(event)
        if len(self.outbox) == EVENTS_BACKLOG_WARNING:
            logger.warning("Market event listeners are %d events behind the feed", len(self.outbox))
        if self.announcer is None or self.announcer.done():
            self.announcer = asyncio.get_running_loop().create_task(self.announce_queued(), name="market-events")

    async def announce_queued(self) -> None:
        while self.outbox:
            await market_events.publish(self.outbox.popleft())

    async def announced(self) -> None:
        """Wait until every event queued so far has reached its listeners."""
        while self.announcer is not None and not self.announcer.done():
            await asyncio.shield(self.announcer)

    async def flush(self, *, paced: bool = False) -> None:
        """Write everything applied and not written yet (``paced``: one write per ``write_interval``
        at most); after a failed write, wait for a new batch."""
        async with self.flush_lock:
            while (self.dirty_tickers or self.dirty_bars or self.unsaved) and self.applied != self.failed:
                wait = self.last_write + self.write_interval - time.monotonic()
                if paced and wait > 0:
                    await asyncio.sleep(wait)
                self.last_write = time.monotonic()
                if not await self.write():
                    self.failed = self.applied

    async def write(self) -> bool:
        """Store the coins' figures and the closed bars, then the snapshot, then announce the forming bars."""
        tickers, bar_symbols, ts = self.dirty_tickers, self.dirty_bars, self.dirty_ts
        self.dirty_tickers, self.dirty_bars = {}, set()
        # Every coin in the snapshot carries its forming bars: a coin whose bars moved has its ticker rewritten.
        snapshot_symbols = tickers.keys() | (bar_symbols & self.tickers.keys())
        bars = {}
        for count, symbol in enumerate(snapshot_symbols | bar_symbols, start=1):
            bars[symbol] = {tf: bar.as_dict() for tf, bar in self.aggregator.bars_of(symbol).items()}
            if count % 500 == 0:
                await asyncio.sleep(0)  # thousands of coins: let a ticker that arrives meanwhile through
        if not await self.store(tickers):
            self.dirty_tickers = tickers | self.dirty_tickers  # retried with the next batch, newer ones first
            self.dirty_bars |= bar_symbols
            return False  # the snapshot must not run ahead of the database (see store)
        if not bars:
            return True
        try:
            await sync_to_async(snapshot.snapshot_store, thread_sensitive=False)(
                tickers={s: self.tickers[s] for s in snapshot_symbols}, bars=bars, version=ts, ts=ts
            )
            if bar_symbols:
                self.announce(FormingBars({s: bars[s] for s in bar_symbols}))
        except Exception:
            logger.exception("Market feed could not update the cache snapshot")
        return True

    def ticker_update(self, tick: Tick) -> dict:
        """Record a tick as the coin's latest ticker."""
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
        self.tickers[tick.symbol] = ticker
        return ticker

    async def resync(self, marker: Resync) -> None:
        """Back-fill the bars a reconnect may have missed, then rebuild the symbols' forming bars.

        Minutes before the reconnect's minute come from the source's history; that minute and
        the later ones from the updates that follow the marker (earlier updates are ignored).
        """
        until = bucket_start(marker.since, 60)
        settle = until + self.resync_settle - marker.since
        if settle > 0:
            await asyncio.sleep(settle)
        symbols = sorted(marker.symbols)
        # The exchange's bars replace any this feed closed before the reconnect and could not store.
        self.unsaved = [u for u in self.unsaved if u[0] not in marker.symbols]
        written = await sync_to_async(history_extend)(source=self.source, until=until, symbols=symbols)
        recent = await sync_to_async(recent_1m)(since=bucket_start(until, DAY), until=until, symbols=symbols)
        self.aggregator.restart(marker.symbols, until)
        self.resume(recent, until)
        logger.info("Resynced %d coins after a reconnect: %d bars back-filled", len(symbols), written)

    async def store(self, tickers: dict[str, dict]) -> bool:
        """Write the coins' figures and every closed bar not yet stored; keep the bars on failure."""
        closed, self.unsaved = self.unsaved, []  # bars closed while this write runs wait for the next
        if not tickers and not closed:
            return True
        try:
            # The database before the snapshot: once the snapshot names a new forming bar, the
            # bar it replaced is stored, and once the version moves, the coins table is current.
            await sync_to_async(market_flush)(tickers=tickers, closed=closed)
        except Exception:
            # A failed write must not stop the feed: the bars are retried with the next batch.
            logger.exception("Market feed could not store a batch (%d closed bars kept for retry)", len(closed))
            self.unsaved = (closed + self.unsaved)[-MAX_UNSAVED_BARS:]
            await sync_to_async(close_old_connections)()
            return False
        if closed:
            self.announce(BarsClosed([ClosedBarRow(symbol, timeframe, **bar) for symbol, timeframe, bar in closed]))
        return True


def prices_add(batch: PriceBatch, tick: Tick, latest: dict | None) -> None:
    """Add ``tick`` to ``batch`` against the coin's price before it (its own price for its first tick)."""
    batch.symbols.append(tick.symbol)
    batch.previous.append(tick.price if latest is None else latest["price"])
    batch.prices.append(tick.price)
    batch.ts.append(tick.ts)
