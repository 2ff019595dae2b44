"""How the full stack's cache (django-redis) degrades while Redis is unreachable.

Settings turn on django-redis' IGNORE_EXCEPTIONS, so that a cache call that cannot reach Redis
answers as an empty cache would: a read misses (every reader then falls back to the database, as
it does on any miss) and a write is dropped. Besides, the connection pool below remembers the
outage: after a failed connection, calls fail at once instead of each waiting for a refused or
timed-out connection, one call a second tries Redis again, and the outage is logged once when it
begins and once when it ends, instead of a traceback per call. Other errors that django-redis
ignores (a command Redis refuses, say when it is out of memory) are still logged, one per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.core.cache import cache
from redis import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, TimeoutError)
RETRY_SECONDS = 1.0


class RedisOutage:
    """Whether this process found a Redis unreachable, since when and why.

    From the first failed connection on, calls fail at once (``admit`` raises) and a thread tries
    ``probe`` every ``retry_seconds``; the first probe that works ends the outage. Requests never
    wait for the tries, which take up to the connect timeout each when Redis hangs.
    """

    def __init__(self, *, probe: Callable[[], None], retry_seconds: float = RETRY_SECONDS):
        self.probe = probe
        self.retry_seconds = retry_seconds
        self.since: float | None = None  # time.monotonic() of the first failure; None while reachable
        self.error = ""
        self.skipped = 0
        self.watcher: threading.Thread | None = None

    def admit(self) -> None:
        """Raise at once while Redis is unreachable."""
        if self.since is not None:
            self.skipped += 1
            self.watch()  # a forked child (a Celery worker, say) has no watcher of its own yet
            raise RedisConnectionError(f"Redis {self.describe()}")

    def failed(self, error: Exception) -> None:
        """Record a failed connection: the first one begins an outage, logged once."""
        self.error = str(error)
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "Redis is unreachable (%s): the cache answers as an empty one (the database serves the reads) "
                "until it is back; trying it every %.0f s",
                error,
                self.retry_seconds,
            )
        self.watch()

    def watch(self) -> None:
        """Start the thread that tries Redis until it answers, unless it runs."""
        if self.watcher is None or not self.watcher.is_alive():
            self.watcher = threading.Thread(target=self._retry, name="redis-outage", daemon=True)
            self.watcher.start()

    def _retry(self) -> None:
        while self.since is not None:
            time.sleep(self.retry_seconds)
            try:
                self.probe()
            except Exception as error:  # whatever answers there (if anything) is not a Redis that works
                self.error = str(error)
            else:
                self.reached()

    def reached(self) -> None:
        """Record that Redis answered: ends an outage."""
        if self.since is not None:
            logger.warning(
                "Redis is reachable again after %.1f s; %d cache calls did without it meanwhile",
                time.monotonic() - self.since,
                self.skipped,
            )
            self.since, self.skipped = None, 0

    def describe(self) -> str:
        """The outage in words, for errors and /api/health."""
        if self.since is None:
            return "reachable"
        return f"unreachable for {time.monotonic() - self.since:.1f} s: {self.error}"


class OutageAwareConnectionPool(ConnectionPool):
    """redis-py's pool that records connection failures in its ``outage`` and fails at once during
    one, instead of connecting (django-redis' CONNECTION_POOL_CLASS).

    Every connection problem shows here: the pool connects, and checks a pooled connection (which
    sees a server that went away) before it hands it out. While Redis is up, this costs two
    attribute reads per call.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outage = RedisOutage(probe=self.ping)

    def get_connection(self, *args, **kwargs):
        outage = self.outage
        if outage.since is not None:
            outage.admit()
        try:
            return super().get_connection(*args, **kwargs)
        except UNREACHABLE as error:
            outage.failed(error)
            raise

    def ping(self) -> None:
        """PING Redis on a connection of its own (the outage's probe); raises if it does not answer."""
        connection = self.connection_class(**self.connection_kwargs)
        try:
            connection.send_command("PING")
            connection.read_response()
        finally:
            connection.disconnect()


def cache_outage() -> RedisOutage | None:
    """The outage state of the default cache's Redis in this process; None for a cache that is not
    on Redis (embedded mode)."""
    client = getattr(cache, "client", None)
    pool = getattr(client.get_client(write=True), "connection_pool", None) if client is not None else None
    return getattr(pool, "outage", None)


def cache_unreachable() -> bool:
    """True while this process finds the cache's Redis unreachable (never in embedded mode)."""
    outage = cache_outage()
    return outage is not None and outage.since is not None


class OutageRecordsFilter(logging.Filter):
    """Drops django-redis' "Exception ignored" records of unreachable Redis (DJANGO_REDIS_LOGGER):
    the pool logs an outage once. Any other ignored error is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(getattr(error, "__cause__", None), UNREACHABLE)
