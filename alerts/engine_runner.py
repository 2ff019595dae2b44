"""Feeding the engine from the market events, without blocking the feed's event loop.

The listeners registered in ``AlertsConfig.ready()`` put each event, as plain lists, on a queue that
one thread of the engine's own takes in order (``EngineFeed``). In embedded mode (tasks run eagerly)
that thread evaluates them on its own engine; in the full stack it enqueues them as tasks on the
Celery queue ``alerts``, whose workers each keep one engine in memory (``alerts.tasks``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from markets.events import BarsClosed, ClosedBarRow, PriceBatch

logger = logging.getLogger(__name__)
_engine = None
_engine_lock = threading.Lock()


def engine_get():
    """This process's engine (one per Celery worker process, or the embedded server's thread)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from alerts.engine import AlertEngine

            _engine = AlertEngine()
        return _engine


def prices_evaluate(symbols: list[str], previous: list[float], prices: list[float], ts: list[int]) -> int:
    """Evaluate one price batch given as plain lists; return how many firings were found."""
    return len(engine_get().evaluate_prices(PriceBatch(symbols, previous, prices, ts)))


def bars_evaluate(bars: list[list]) -> int:
    """Evaluate bars closed, given as lists of ClosedBarRow fields; return how many firings were found."""
    return len(engine_get().evaluate_bars(BarsClosed([ClosedBarRow(*row) for row in bars])))


class EngineFeed:
    """Events in order, one at a time, on one thread of its own: a task on the event loop drains a queue
    and runs each in that thread through ``sync_to_async``, so that what the engine sends back to the
    loop's channel layer (``async_to_sync``) runs on that loop (embedded mode's in-memory layer needs it)."""

    def __init__(self):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-engine")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.items: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None

    def submit(self, kind: str, payload: tuple) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.task is None or self.task.done():
            self.loop, self.items = loop, asyncio.Queue()
            self.task = loop.create_task(self._drain(self.items), name="alert-engine-feed")
        self.items.put_nowait((kind, payload))

    async def _drain(self, items: asyncio.Queue) -> None:
        run = sync_to_async(_handle_logged, thread_sensitive=False, executor=self.executor)
        while True:
            kind, payload = await items.get()
            await run(kind, payload)


def _handle_logged(kind: str, payload: tuple) -> None:
    try:
        _handle(kind, payload)
    except Exception:
        logger.exception("The alert engine failed on a %s event", kind)
    finally:
        close_old_connections()


def _handle(kind: str, payload: tuple) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        (prices_evaluate if kind == "prices" else bars_evaluate)(*payload)
        return
    from alerts import tasks

    task = tasks.alerts_prices_evaluate if kind == "prices" else tasks.alerts_bars_evaluate
    task.apply_async(args=payload, queue="alerts")


runner = EngineFeed()


async def on_prices(batch: PriceBatch) -> None:
    """Listener: hand the batch to the engine thread (a queue put, microseconds)."""
    if settings.ALERTS_ENGINE_ENABLED:
        runner.submit("prices", (list(batch.symbols), list(batch.previous), list(batch.prices), list(batch.ts)))


async def on_bars(event: BarsClosed) -> None:
    """Listener: hand the closed bars to the engine thread."""
    if settings.ALERTS_ENGINE_ENABLED:
        runner.submit("bars", ([list(astuple(row)) for row in event.bars],))
