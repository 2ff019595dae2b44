"""The simulated exchange as a market source: ticks every second, history, book and trades.

In the feed it drives ``SimulatedExchange``; in every process it answers order-book and trade
requests from what the feed stored, as a real exchange answers from its own state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from itertools import takewhile

import numpy as np
from asgiref.sync import sync_to_async
from django.core.cache import cache

from markets import snapshot
from markets.candles import CLOSE
from markets.sources.base import CoinProfile, LastBar, MarketSource, OrderBook, SourceUnavailable, Tick, Trade
from markets.sources.simulation import (
    DAY,
    SimulatedExchange,
    history_generate,
    history_segments,
    order_book,
)
from scalpaiboard.cache import cache_unreachable

HISTORY_DAYS = 400
TRADES_KEY = "sim:trades:{}"


class SimulatedSource(MarketSource):
    name = "simulated"

    def __init__(self, *, seed: int, tick_seconds: float = 1.0, clock=time.time):
        self.seed = seed
        self.tick_seconds = tick_seconds
        self.clock = clock
        self.profiles: dict[str, CoinProfile] = {}
        self.exchange: SimulatedExchange | None = None
        self.trade_rows: dict[str, list[tuple]] = {}  # each coin's trades as last stored

    async def start(self, *, coins: list[CoinProfile], recent_1m: dict[str, np.ndarray]) -> None:
        self.profiles = {c.symbol: c for c in coins}
        # Continue from the last stored close, so live prices join the charts without a jump.
        prices = [recent_1m[c.symbol][-1, CLOSE] if len(recent_1m.get(c.symbol, ())) else c.price for c in coins]
        # Seeded by SIMULATION_SEED and the start time: the same market for the same start, and a
        # new path (not a replay of the last one) after a restart.
        start = self.clock()
        self.exchange = SimulatedExchange(coins, seed=[self.seed, int(start)], start_ts=start, prices=np.array(prices))
        self.trade_rows = {}  # a new exchange numbers its trades from 1 again
        self.exchange.seed_window(recent_1m)

    async def ticks(self) -> AsyncIterator[list[Tick]]:
        """One batch per tick interval, aligned to the wall clock, every coin in each."""
        if self.exchange is None:
            raise RuntimeError("start() the source before streaming")
        while True:
            now = self.clock()
            await asyncio.sleep(self.tick_seconds - now % self.tick_seconds)
            ts = self.clock()
            yield self.exchange.step(ts)
            # After the feed has published the batch: trades are for the coin page, not the hot path.
            await sync_to_async(self._store_trades, thread_sensitive=False)()

    def _store_trades(self) -> None:
        """Publish each coin's latest trades, as plain tuples (pickled ten times faster)."""
        rows = {symbol: self._trade_rows(symbol, trades) for symbol, trades in self.exchange.trades.items()}
        cache.set_many({TRADES_KEY.format(s): r for s, r in rows.items()}, timeout=300)

    def _trade_rows(self, symbol: str, trades: list[Trade]) -> list[tuple]:
        """``trades`` (newest first) as tuples, converting only those newer than the last stored:
        the embedded server's GIL is not held for 130 coins x 100 trades every second."""
        stored = self.trade_rows.get(symbol, [])
        newest = stored[0][0] if stored else -1
        fresh = [(t.id, t.price, t.qty, t.side, t.ts) for t in takewhile(lambda t: t.id > newest, trades)]
        self.trade_rows[symbol] = rows = (fresh + stored)[: len(trades)]
        return rows

    def history(
        self, *, coins: list[CoinProfile], last_bars: dict[str, LastBar | None], until: int
    ) -> dict[str, dict[str, np.ndarray]]:
        """Generate the missing bars: all history for new coins, the gap since the last bar for others."""
        until -= until % 60
        groups: dict[int | None, list[CoinProfile]] = {}
        for coin in coins:
            last = last_bars.get(coin.symbol)
            groups.setdefault(None if last is None else last.time, []).append(coin)
        out: dict[str, dict[str, np.ndarray]] = {}
        for last, profiles in groups.items():
            self._history_group(profiles, last, [last_bars.get(p.symbol) for p in profiles], until, out)
        return out

    def _history_group(self, profiles: list[CoinProfile], last: int | None, last_bars: list, until: int, out) -> None:
        symbols = [p.symbol for p in profiles]
        if last is None:
            start = (until - HISTORY_DAYS * DAY) // DAY * DAY
            anchor = np.array([p.price for p in profiles])
        else:
            start = last + 60
            anchor = np.array([bar.close for bar in last_bars])
        segments = history_segments(start, until)
        if not segments:
            return
        rng = np.random.default_rng([self.seed, start, until, len(symbols)])
        parts = history_generate(profiles, segments, anchor_prices=anchor, anchor_at_end=last is None, rng=rng)
        for segment, bars in parts:
            timeframe = {60: "1m", 3600: "1h", DAY: "1d"}[segment.seconds]
            for index, symbol in enumerate(symbols):
                per_symbol = out.setdefault(timeframe, {})
                previous = per_symbol.get(symbol)
                per_symbol[symbol] = bars[index] if previous is None else np.concatenate([previous, bars[index]])

    def order_book(self, symbol: str, depth: int) -> OrderBook:
        state = snapshot.ticker_get(symbol)
        if state is None:
            raise _unpublished("the market feed has not published this coin yet")
        ticker = state["ticker"]
        return order_book(
            symbol=symbol,
            price=ticker["price"],
            quote_rate=ticker["volume24h"] / DAY,
            ts=ticker["ts"],
            depth=depth,
            seed=self.seed,
        )

    def recent_trades(self, symbol: str, limit: int) -> list[Trade]:
        trades = cache.get(TRADES_KEY.format(symbol))
        if trades is None:
            raise _unpublished("the market feed has not published trades for this coin yet")
        return [Trade(*t) for t in trades[:limit]]


def _unpublished(reason: str) -> SourceUnavailable:
    """The simulation has no state for a request: the feed has not stored it (``reason``), or the
    cache it is kept in is unreachable."""
    if cache_unreachable():
        reason = "the simulated exchange's live state is kept in the cache (Redis), which is unreachable now"
    return SourceUnavailable(reason, headers={"Retry-After": "5"})
