"""The cache without Redis: calls fail at once during an outage, it is logged once, and Redis is used
again within seconds of its return (scalpaiboard/cache.py)."""

from __future__ import annotations

import logging
import shutil
import socket
import time
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted

from scalpaiboard.cache import RETRY_SECONDS, OutageAwareConnectionPool, OutageRecordsFilter
from tests.processes import RedisServer, free_port, wait_for

needs_redis_server = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server program")


def client_at(url: str, *, timeout: float = 2.0) -> redis.Redis:
    pool = OutageAwareConnectionPool.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    return redis.Redis(connection_pool=pool)


@pytest.fixture
def hung_redis() -> Iterator[str]:
    """A server that accepts connections and never answers, as a Redis that hangs (or a black hole)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def failures(client: redis.Redis, calls: int) -> float:
    """Make ``calls`` GETs that must fail; return the seconds they took together."""
    started = time.perf_counter()
    for _ in range(calls):
        with pytest.raises((redis.ConnectionError, redis.TimeoutError)):
            client.get("k")
    return time.perf_counter() - started


def test_after_a_refused_connection_calls_fail_at_once(caplog):
    client = client_at(f"redis://127.0.0.1:{free_port()}/0")

    with pytest.raises(redis.ConnectionError, match="refused"):
        client.get("k")

    outage = client.connection_pool.outage
    assert outage.since is not None and "refused" in outage.error
    with pytest.raises(redis.ConnectionError, match="Redis unreachable for"):
        client.get("k")
    assert outage.skipped == 1


def test_a_hung_redis_costs_one_timeout_then_calls_fail_at_once(hung_redis):
    client = client_at(hung_redis, timeout=0.3)

    assert failures(client, 1) >= 0.3  # the connection's handshake timed out
    assert failures(client, 200) < 0.2  # no call waits for a connection any more


def test_an_outage_is_logged_once_however_many_calls_fail(caplog):
    client = client_at(f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="scalpaiboard.cache"):
        failures(client, 100)
    assert [r.getMessage()[:22] for r in caplog.records] == ["Redis is unreachable ("]


@needs_redis_server
def test_redis_is_used_again_within_seconds_of_its_return(tmp_path, caplog):
    server = RedisServer(free_port(), tmp_path / "redis.log")
    client = client_at(server.url)
    failures(client, 10)
    server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="scalpaiboard.cache"):
            returned = time.monotonic()
            wait_for(lambda: client.set("k", b"v"), what="the cache to use Redis again", timeout=RETRY_SECONDS + 3)
            back_after = time.monotonic() - returned
        assert back_after <= RETRY_SECONDS + 0.5
        assert client.get("k") == b"v"
        assert "Redis is reachable again after" in caplog.text
        assert "cache calls did without it meanwhile" in caplog.text
        wait_for(lambda: not client.connection_pool.outage.watcher.is_alive(), what="the probe to end", timeout=5)
    finally:
        server.stop()


def test_ignored_cache_errors_are_logged_but_for_an_unreachable_redis():
    def ignored(cause: Exception) -> logging.LogRecord:
        try:
            raise ConnectionInterrupted(connection=None) from cause
        except ConnectionInterrupted as error:
            return logging.LogRecord("scalpaiboard.cache.ignored", logging.ERROR, "", 0, "Exception ignored", (), (
                type(error), error, error.__traceback__
            ))  # fmt: skip

    keep = OutageRecordsFilter().filter
    assert not keep(ignored(redis.ConnectionError("Error 111 connecting")))
    assert not keep(ignored(redis.TimeoutError("Timeout reading from socket")))
    assert keep(ignored(redis.ResponseError("OOM command not allowed when used memory > 'maxmemory'")))


@pytest.mark.skipif(not settings.REDIS_URL, reason="embedded mode has no Redis: its cache is local memory")
def test_the_configured_cache_answers_as_an_empty_one_while_redis_is_unreachable():
    options = settings.CACHES["default"]["OPTIONS"]
    cache = RedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": options})

    started = time.perf_counter()
    assert cache.get("k", "default") == "default"
    assert cache.get_many(["k", "l"]) == {}
    assert not cache.set("k", 1)
    assert not cache.add("k", 1)
    cache.set_many({"k": 1})
    cache.delete("k")
    assert time.perf_counter() - started < 1
    assert cache.client.get_client().connection_pool.outage.since is not None
