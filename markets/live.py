"""The /ws side of the market events: the feed's announcements turned into channel-layer messages.

A listener of ``PriceBatch`` coalesces the changed coins' tickers and publishes them at most once per
FEED_PUBLISH_INTERVAL, one message as JSON fragments to the "prices" group (API clients) and one as
HTML fragments to "prices.html" (pages), each fragment marking whether the price went up or down since
the coin's previous message. A listener of ``FormingBars`` publishes them to the "candles" group. Each
server process's fan-out (markets/fanout.py) joins these groups once and serves its sockets.
Registered by ``MarketsConfig.ready()``, so the feed, wherever it runs, needs no knowledge of /ws.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Iterator

import orjson
from channels.layers import get_channel_layer
from django.conf import settings

from markets.events import FormingBars, PriceBatch, market_events
from markets.templatetags.market_format import ticker_fragment

logger = logging.getLogger(__name__)

PRICES_GROUP = "prices"  # tickers as JSON, for API clients
PAGES_GROUP = "prices.html"  # the same tickers as HTML fragments, for pages (a smaller message each)
CANDLES_GROUP = "candles"  # the forming bars of every timeframe of the coins that moved


class LivePublisher:
    """The tickers changed since the last prices message of this event loop, and when it went out."""

    def __init__(self):
        self.pending: dict[str, dict] = {}  # symbol -> latest ticker, in the order coins first changed
        self.before: dict[str, float] = {}  # symbol -> its price in the last message (direction of the move)
        self.last_publish = 0.0
        self.task: asyncio.Task | None = None
        self.unpublished = 0  # messages the channel layer refused since it last took one

    def prices_take(self, batch: PriceBatch) -> None:
        """Add a batch's coins to the next message and make sure that message is coming."""
        for symbol, previous in zip(batch.symbols, batch.previous, strict=True):
            self.before.setdefault(symbol, previous)  # the first update since the last message
            self.pending[symbol] = batch.tickers[symbol]
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.prices_publish())

    async def prices_publish(self) -> None:
        """Publish every ticker taken, at most once per interval, until none is left: JSON first,
        then the pages' HTML. Tickers taken while a message is being sent go out with the next one."""
        while self.pending:
            delay = self.last_publish + settings.FEED_PUBLISH_INTERVAL - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tickers, before = self.pending, self.before
            self.pending, self.before = {}, {}
            self.last_publish = time.monotonic()
            # API clients' JSON first: pages' HTML takes longer to build and is not in its way.
            for group, message in prices_messages(tickers, before):
                await self.publish(group, message)

    async def publish(self, group: str, message: dict) -> None:
        """Send ``message`` to ``group``. A channel layer that fails (Redis unreachable) does not stop the
        feed, which goes on writing the database; it is logged when it starts failing and when it works again."""
        try:
            await get_channel_layer().group_send(group, message)
        except Exception:
            self.unpublished += 1
            if self.unpublished == 1:
                logger.exception("Market feed cannot publish to the channel layer; it keeps storing the market data")
            return
        if self.unpublished:
            logger.warning("Market feed publishes again; %d messages could not be sent meanwhile", self.unpublished)
            self.unpublished = 0


def prices_messages(tickers: dict[str, dict], before: dict[str, float]) -> Iterator[tuple[str, dict]]:
    """One message per group, JSON fragments (API clients) first, then HTML fragments (pages), each
    marking the move from the price in ``before``. Separate groups, so that no consumer decodes the
    half it never sends."""
    symbols = list(tickers)
    json_parts = [orjson.dumps(_public(ticker)).decode() for ticker in tickers.values()]
    yield PRICES_GROUP, {"type": "prices.batch", "symbols": symbols, "json": json_parts}
    html_parts = []
    for symbol, ticker in tickers.items():
        previous = before.get(symbol, ticker["price"])
        direction = "up" if ticker["price"] > previous else "down" if ticker["price"] < previous else ""
        html_parts.append(ticker_fragment(ticker, direction))
    yield PAGES_GROUP, {"type": "prices.batch", "symbols": symbols, "html": html_parts}


def _public(ticker: dict) -> dict:
    """The ticker message of the WebSocket contract, its fields in its order."""
    return {
        "type": "ticker",
        "symbol": ticker["symbol"],
        "price": ticker["price"],
        "change24h": ticker["change24h"],
        "volume24h": ticker["volume24h"],
        "ts": ticker["ts"],
    }


_publishers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def live_publisher() -> LivePublisher:
    """The publisher of the running event loop (the feed's: one per process in practice)."""
    loop = asyncio.get_running_loop()
    publisher = _publishers.get(loop)
    if publisher is None:
        publisher = _publishers[loop] = LivePublisher()
    return publisher


async def prices_announce(batch: PriceBatch) -> None:
    """PriceBatch listener: the batch's tickers go out with the next coalesced prices message."""
    live_publisher().prices_take(batch)


async def candles_announce(event: FormingBars) -> None:
    """FormingBars listener: one message for every coin whose bars moved (each server process picks
    its sockets' streams)."""
    if event.bars:
        await live_publisher().publish(CANDLES_GROUP, {"type": "candles.update", "bars": event.bars})


def live_listen() -> None:
    """Register the /ws fan-out's listeners (from ``MarketsConfig.ready()``)."""
    market_events.listen(PriceBatch, prices_announce)
    market_events.listen(FormingBars, candles_announce)
