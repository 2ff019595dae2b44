"""Feeding the engine from the market events, without blocking the feed's event loop.

The listeners registered in ``AlertsConfig.ready()`` put each event, as plain lists, on a queue that
one background thread drains in order. In embedded mode (tasks run eagerly) that thread evaluates
them on its own engine; in the full stack it enqueues them as tasks on the Celery queue ``alerts``,
whose workers each keep one engine in memory (``alerts.tasks``).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import astuple

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


class EngineThread:
    """One daemon thread taking (kind, payload) items in order, started with the first."""

    def __init__(self):
        self.items: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, kind: str, payload: tuple) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="alert-engine", daemon=True)
                self.thread.start()
        self.items.put((kind, payload))

    def _run(self) -> None:
        while True:
            kind, payload = self.items.get()
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


runner = EngineThread()


async def on_prices(batch: PriceBatch) -> None:
    """Listener: hand the batch to the engine thread (a queue put, microseconds)."""
    if settings.ALERTS_ENGINE_ENABLED:
        runner.submit("prices", (list(batch.symbols), list(batch.previous), list(batch.prices), list(batch.ts)))


async def on_bars(event: BarsClosed) -> None:
    """Listener: hand the closed bars to the engine thread."""
    if settings.ALERTS_ENGINE_ENABLED:
        runner.submit("bars", ([list(astuple(row)) for row in event.bars],))
