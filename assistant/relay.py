"""Each answer's events, in order, replayable from any point: the chat run appends, any number of
readers (the SSE answer, /ws sockets, a browser that reconnects mid-answer) read from where they are.

Full stack: a Redis stream per answer (XADD with ids ``0-<seq>``, XREAD BLOCK from the last seq seen),
so the run (a Celery worker on the ``ai`` queue) and the readers (any server process) share it and a
reader that comes late or reconnects misses nothing. Embedded: the same in this process's memory.
A log lives ``RELAY_TTL`` seconds after its last event.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from functools import cache

from django.conf import settings

RELAY_TTL = 3600
MAX_EVENTS = 100_000  # a runaway answer cannot fill Redis
FINAL = ("done", "error")


def _key(message_id: int) -> str:
    return f"{settings.REDIS_PREFIX}:chat:{message_id}"


class RelayWriter:
    """The one writer of an answer's log (its chat run): numbers the events 1, 2, 3…"""

    def __init__(self, message_id: int):
        self.message_id = message_id
        self.seq = 0

    def emit(self, event: str, data: dict) -> dict:
        self.seq += 1
        item = {"seq": self.seq, "event": event, "data": data}
        (_redis_append if settings.REDIS_URL else _memory_append)(self.message_id, item)
        return item


def relay_read(*, message_id: int, after: int = 0, timeout: float = 15.0) -> list[dict]:
    """The events after ``after``, waiting up to ``timeout`` seconds for the first one ([] if none came)."""
    if settings.REDIS_URL:
        return _redis_read(message_id, after, timeout)
    return _memory_read(message_id, after, timeout)


async def relay_follow(*, message_id: int, after: int = 0, idle_timeout: float = 300.0) -> AsyncIterator[dict]:
    """Every event after ``after``, as it comes, up to and including ``done`` or ``error``. Stops
    after ``idle_timeout`` seconds without an event (a run that died without its last event)."""
    read = _redis_read_async if settings.REDIS_URL else _memory_read_async
    while True:
        items = await read(message_id, after, idle_timeout)
        if not items:
            return
        for item in items:
            yield item
            after = item["seq"]
            if item["event"] in FINAL:
                return


# --- Redis ------------------------------------------------------------------------------------


@cache
def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=None)


def _redis_append(message_id: int, item: dict) -> None:
    key = _key(message_id)
    entry = {"e": json.dumps(item, separators=(",", ":"))}
    if item["seq"] > 1 and item["event"] not in FINAL:  # one round trip a token; the TTL set at both ends
        _redis().xadd(key, entry, id=f"0-{item['seq']}", maxlen=MAX_EVENTS, approximate=True)
        return
    pipe = _redis().pipeline(transaction=False)
    pipe.xadd(key, entry, id=f"0-{item['seq']}", maxlen=MAX_EVENTS, approximate=True)
    pipe.expire(key, RELAY_TTL)
    pipe.execute()


def _decode(entries) -> list[dict]:
    return [json.loads(fields[b"e"]) for _, fields in entries]


def _redis_read(message_id: int, after: int, timeout: float) -> list[dict]:
    answer = _redis().xread({_key(message_id): f"0-{after}"}, block=max(1, int(timeout * 1000)))
    return _decode(answer[0][1]) if answer else []


async def _redis_read_async(message_id: int, after: int, timeout: float) -> list[dict]:
    client = _async_redis()
    answer = await client.xread({_key(message_id): f"0-{after}"}, block=max(1, int(timeout * 1000)))
    return _decode(answer[0][1]) if answer else []


_async_clients: dict[int, object] = {}


def _async_redis():
    """One asyncio client per event loop (a client belongs to the loop it was made on)."""
    import redis.asyncio

    loop = asyncio.get_running_loop()
    client = _async_clients.get(id(loop))
    if client is None:
        # No read timeout: XREAD BLOCK waits as long as it is told (redis-py's default would cut it at 5 s).
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=None)
        _async_clients[id(loop)] = client
    return client


# --- Embedded: this process's memory -----------------------------------------------------------


class _Log:
    def __init__(self):
        self.items: list[dict] = []
        self.changed = threading.Condition()
        self.waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.touched = time.monotonic()


_logs: dict[int, _Log] = {}
_logs_lock = threading.Lock()


def _log(message_id: int) -> _Log:
    with _logs_lock:
        log = _logs.get(message_id)
        if log is None:
            _forget_stale()
            log = _logs[message_id] = _Log()
        return log


def _forget_stale() -> None:
    now = time.monotonic()
    for message_id in [m for m, log in _logs.items() if now - log.touched > RELAY_TTL]:
        del _logs[message_id]


def _memory_append(message_id: int, item: dict) -> None:
    log = _log(message_id)
    with log.changed:
        log.items.append(item)
        log.touched = time.monotonic()
        log.changed.notify_all()
        waiters = list(log.waiters)
    for loop, event in waiters:
        loop.call_soon_threadsafe(event.set)


def _after(log: _Log, after: int) -> list[dict]:
    # seq n is at index n - 1: one writer numbers them in order
    return log.items[after:]


def _memory_read(message_id: int, after: int, timeout: float) -> list[dict]:
    log = _log(message_id)
    with log.changed:
        log.changed.wait_for(lambda: len(log.items) > after, timeout=timeout)
        return _after(log, after)


async def _memory_read_async(message_id: int, after: int, timeout: float) -> list[dict]:
    log = _log(message_id)
    event = asyncio.Event()
    waiter = (asyncio.get_running_loop(), event)
    with log.changed:
        if len(log.items) > after:
            return _after(log, after)
        log.waiters.add(waiter)
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return []
    finally:
        with log.changed:
            log.waiters.discard(waiter)
    with log.changed:
        return _after(log, after)
