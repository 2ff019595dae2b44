"""Live prices fanned out inside each server process: a batch is received once per process and
written to every socket of that process that follows prices.

Were each socket a member of the channel-layer group itself, a batch for a thousand sockets would
be queued, decoded and dispatched a thousand times, and the last socket would wait for all of
that. Here the process holds one membership of each prices group, builds the text for "every
coin" once per format, and hands each socket its text directly, letting the server write
between groups of sockets.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Protocol

from markets.feed import PAGES_GROUP, PRICES_GROUP

logger = logging.getLogger(__name__)

REJOIN_SECONDS = 3600  # group memberships expire (a day in the in-memory layer): renew them hourly
WRITE_EVERY = 50  # sockets served before the server gets a turn to write what they were sent


class PriceFollower(Protocol):
    html: bool

    def prices_text(self, symbols: list[str], parts: list[str], everything: str) -> str | None: ...

    async def send(self, text_data: str) -> None: ...


class PriceFanout:
    """This process's subscribers to live prices, and the one task that serves them."""

    def __init__(self, layer):
        self.layer = layer
        self.followers: dict[PriceFollower, None] = {}  # an ordered set
        self.task: asyncio.Task | None = None
        self.starting = asyncio.Lock()
        self.channel = ""
        self.joined = 0.0

    async def add(self, follower: PriceFollower) -> None:
        """Serve ``follower`` from the next batch on (the process joins the groups first if need be)."""
        self.followers[follower] = None
        async with self.starting:
            if self.task is None or self.task.done():
                self.channel = await self.layer.new_channel()
                await self.join()
                self.task = asyncio.get_running_loop().create_task(self.serve(), name="price-fanout")

    def discard(self, follower: PriceFollower) -> None:
        self.followers.pop(follower, None)

    async def join(self) -> None:
        for group in (PRICES_GROUP, PAGES_GROUP):
            await self.layer.group_add(group, self.channel)
        self.joined = time.monotonic()

    async def serve(self) -> None:
        while True:
            event = await self.layer.receive(self.channel)
            try:
                await self.deliver(event)
                if time.monotonic() - self.joined > REJOIN_SECONDS:
                    await self.join()
            except Exception:  # one bad batch must not stop live prices for the whole process
                logger.exception("Could not deliver a prices batch")

    async def deliver(self, event: dict) -> None:
        """Send each follower of this batch's format its part of it."""
        html = "html" in event
        parts = event["html"] if html else event["json"]
        everything = batch_text(parts, html=html)
        served = 0
        for follower in list(self.followers):
            if follower.html != html:
                continue
            text = follower.prices_text(event["symbols"], parts, everything)
            if text is None:
                continue
            try:
                await follower.send(text_data=text)
            except Exception:
                logger.warning("Dropping a socket that could not be sent prices", exc_info=True)
                self.discard(follower)
            served += 1
            if served % WRITE_EVERY == 0:
                await asyncio.sleep(0)


def batch_text(parts: list[str], *, html: bool) -> str:
    """The message carrying ``parts``: HTML fragments side by side, or one ticker / a tickers batch."""
    if html:
        return "".join(parts)
    if len(parts) == 1:
        return parts[0]
    return '{"type":"tickers","data":[' + ",".join(parts) + "]}"


_fanouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def price_fanout(layer) -> PriceFanout:
    """The fan-out of this event loop for ``layer`` (one per server process in practice)."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None or fanout.layer is not layer:
        fanout = _fanouts[loop] = PriceFanout(layer)
    return fanout
