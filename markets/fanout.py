"""Live market data fanned out inside each server process: a message is received once per process
and written to every socket of that process that follows it.

Were each socket a member of channel-layer groups itself, a batch for a thousand sockets would be
queued, decoded and dispatched a thousand times, and the last socket would wait for all of that;
and the feed would publish one message per coin for the forming bars. Here the process holds one
membership of each live group, builds the "every coin" text once per format, and hands each
socket its text directly, letting the server write between groups of sockets.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Protocol

import orjson

from markets.live import CANDLES_GROUP, PAGES_GROUP, PRICES_GROUP

logger = logging.getLogger(__name__)

REJOIN_SECONDS = 3600  # group memberships expire (a day in the in-memory layer): renew them hourly
WRITE_EVERY = 50  # sockets served before the server gets a turn to write what they were sent


class LiveFollower(Protocol):
    html: bool
    candle_streams: dict[str, set[str]]  # symbol -> timeframes

    def prices_text(self, symbols: list[str], parts: list[str], everything: str) -> str | None: ...

    async def send(self, text_data: str) -> None: ...


class LiveFanout:
    """This process's sockets following prices or candles, and the one task that serves them."""

    def __init__(self, layer):
        self.layer = layer
        self.price_followers: dict[LiveFollower, None] = {}  # ordered sets
        self.candle_followers: dict[LiveFollower, None] = {}
        self.task: asyncio.Task | None = None
        self.starting = asyncio.Lock()
        self.channel = ""
        self.joined = 0.0

    async def follow_prices(self, follower: LiveFollower) -> None:
        """Serve ``follower`` prices from the next batch on."""
        self.price_followers[follower] = None
        await self.start()

    async def follow_candles(self, follower: LiveFollower) -> None:
        """Serve ``follower`` the forming bars of its ``candle_streams`` from the next update on."""
        self.candle_followers[follower] = None
        await self.start()

    def unfollow_prices(self, follower: LiveFollower) -> None:
        self.price_followers.pop(follower, None)

    def unfollow_candles(self, follower: LiveFollower) -> None:
        self.candle_followers.pop(follower, None)

    async def start(self) -> None:
        """Join the live groups and start serving, once per process."""
        async with self.starting:
            if self.task is None or self.task.done():
                self.channel = await self.layer.new_channel()
                await self.join()
                self.task = asyncio.get_running_loop().create_task(self.serve(), name="live-fanout")

    async def join(self) -> None:
        for group in (PRICES_GROUP, PAGES_GROUP, CANDLES_GROUP):
            await self.layer.group_add(group, self.channel)
        self.joined = time.monotonic()

    async def serve(self) -> None:
        while True:
            event = await self.layer.receive(self.channel)
            try:
                if event["type"] == "candles.update":
                    await self.deliver_candles(event["bars"])
                else:
                    await self.deliver_prices(event)
                if time.monotonic() - self.joined > REJOIN_SECONDS:
                    await self.join()
            except Exception:  # one bad message must not stop live data for the whole process
                logger.exception("Could not deliver a live %s message", event.get("type"))

    async def deliver_prices(self, event: dict) -> None:
        """Send each follower of this batch's format its part of it."""
        html = "html" in event
        parts = event["html"] if html else event["json"]
        everything = batch_text(parts, html=html)
        sends = (
            (follower, follower.prices_text(event["symbols"], parts, everything))
            for follower in list(self.price_followers)
            if follower.html == html
        )
        await self.send_all(((f, [text]) for f, text in sends if text is not None), self.price_followers)

    async def deliver_candles(self, bars: dict[str, dict]) -> None:
        """Send each follower the forming bar of every (symbol, timeframe) it follows."""
        sends = ((follower, candle_texts(follower.candle_streams, bars)) for follower in list(self.candle_followers))
        await self.send_all(((f, texts) for f, texts in sends if texts), self.candle_followers)

    async def send_all(self, sends, followers: dict) -> None:
        for served, (follower, texts) in enumerate(sends, start=1):
            try:
                for text in texts:
                    await follower.send(text_data=text)
            except Exception:
                logger.warning("Dropping a socket that could not be sent live data", exc_info=True)
                followers.pop(follower, None)
            if served % WRITE_EVERY == 0:
                await asyncio.sleep(0)


def batch_text(parts: list[str], *, html: bool) -> str:
    """The message carrying ``parts``: HTML fragments side by side, or one ticker / a tickers batch."""
    if html:
        return "".join(parts)
    if len(parts) == 1:
        return parts[0]
    return '{"type":"tickers","data":[' + ",".join(parts) + "]}"


def candle_texts(streams: dict[str, set[str]], bars: dict[str, dict]) -> list[str]:
    """The candle messages for the streams a follower has among ``bars`` ({symbol: {timeframe: bar}})."""
    return [
        orjson.dumps({"type": "candle", "symbol": symbol, "timeframe": timeframe, **bars[symbol][timeframe]}).decode()
        for symbol, timeframes in streams.items()
        if symbol in bars
        for timeframe in sorted(timeframes)
        if timeframe in bars[symbol]
    ]


_fanouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def live_fanout(layer) -> LiveFanout:
    """The fan-out of this event loop for ``layer`` (one per server process in practice)."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None or fanout.layer is not layer:
        fanout = _fanouts[loop] = LiveFanout(layer)
    return fanout
