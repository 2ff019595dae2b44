"""Handing deliveries to whoever sends them: the Celery queue ``notify`` in full stack, a small sender
inside this process in embedded mode.

Embedded mode runs Celery tasks inline in the caller, and the caller may be the feed's engine thread or
a request: a send there would make a firing wait on a slow webhook. So in embedded mode deliveries go to
``LocalSender`` instead: a few daemon threads fed by a queue, one timer thread for delayed jobs, and the
sweep (``alerts.deliveries.deliveries_sweep``) every few seconds, all started on first use.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

CHUNK = 25  # deliveries per task: a task's sends run concurrently, and one slow receiver holds only its chunk
LOCAL_THREADS = 4
SWEEP_EVERY = 5.0  # seconds, as the beat schedule's deliveries-sweep


def deliveries_enqueue(ids: list[int], *, delay: float = 0.0) -> None:
    """Have the deliveries ``ids`` sent, in ``delay`` seconds; callers use it on commit."""
    ids = list(ids)
    if not ids:
        return
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        if settings.CELERY_TASK_ALWAYS_EAGER:
            local_sender().submit(_send_job(chunk), delay=delay)
        else:
            from alerts.tasks import deliveries_send

            deliveries_send.apply_async((chunk,), countdown=max(delay, 0.0) or None)


def _send_job(ids: list[int]) -> Callable[[], None]:
    def job() -> None:
        from alerts.deliveries import deliveries_send_batch

        deliveries_send_batch(ids)

    return job


def _sweep_job() -> None:
    from alerts.deliveries import deliveries_sweep

    deliveries_sweep()


class LocalSender:
    """Embedded mode's stand-in for the ``notify`` workers: ``threads`` daemon threads run jobs from a
    queue, a timer thread puts delayed jobs on it when due and the sweep every ``sweep_every`` seconds."""

    def __init__(self, *, threads: int = LOCAL_THREADS, sweep_every: float | None = SWEEP_EVERY):
        self.jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self.order = itertools.count()  # ties in the timer heap are broken by arrival, never by the job
        self.wake = threading.Condition()
        self.sweep_every = sweep_every
        self.started = False
        self.threads = threads

    def submit(self, job: Callable[[], None], *, delay: float = 0.0) -> None:
        """Run ``job`` on a sender thread, after ``delay`` seconds."""
        self._start()
        if delay <= 0:
            self.jobs.put(job)
            return
        with self.wake:
            heapq.heappush(self.timers, (time.monotonic() + delay, next(self.order), job))
            self.wake.notify()

    def _start(self) -> None:
        with self.wake:
            if self.started:
                return
            self.started = True
        for index in range(self.threads):
            threading.Thread(target=self._work, name=f"notify-sender-{index}", daemon=True).start()
        threading.Thread(target=self._tick, name="notify-timer", daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                job()
            except Exception:
                logger.exception("A notification job failed; the sweep will try its deliveries again")
            finally:
                # This thread outlives requests: its connection must not be kept past a job (SQLite locks).
                close_old_connections()
                connections.close_all()

    def _tick(self) -> None:
        next_sweep = time.monotonic() + self.sweep_every if self.sweep_every else math.inf
        while True:
            with self.wake:
                now = time.monotonic()
                while self.timers and self.timers[0][0] <= now:
                    self.jobs.put(heapq.heappop(self.timers)[2])
                if self.sweep_every and now >= next_sweep:
                    self.jobs.put(_sweep_job)
                    next_sweep = now + self.sweep_every
                waits = [1.0, next_sweep - now] + ([self.timers[0][0] - now] if self.timers else [])
                self.wake.wait(timeout=max(min(waits), 0.001))


_local: LocalSender | None = None
_local_lock = threading.Lock()


def local_sender() -> LocalSender:
    """This process's embedded-mode sender, made on first use."""
    global _local
    with _local_lock:
        if _local is None:
            _local = LocalSender()
        return _local
