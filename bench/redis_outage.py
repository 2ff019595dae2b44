"""What the cache's outage handling (scalpaiboard/cache.py) costs per Redis call, up and down.

The full stack's cache reaches Redis through ``OutageAwareConnectionPool``, which checks whether
Redis is known to be down before it hands out a connection. This compares it with redis-py's own
``ConnectionPool``, in one process and one run:

1. Redis up (the Redis at ``--redis-url``): CPU microseconds per GET of a small key, the two pools
   in alternating rounds (median of the rounds), so that the check's cost shows beside the call's.
2. Redis refusing connections (a port nothing listens on): microseconds per call. The plain pool
   tries a connection each time; the outage-aware one fails at once after the first.
3. Redis hanging (a socket that accepts and never answers; timeout ``--timeout``): the plain pool
   waits the timeout at every call, the outage-aware one at the first only.

    .venv/bin/python bench/redis_outage.py
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scalpaiboard.settings")

from _stack import log, table

from scalpaiboard.cache import OutageAwareConnectionPool


def client(pool_class, url: str, timeout: float) -> redis.Redis:
    return redis.Redis(connection_pool=pool_class.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout))


def cpu_per_call(call, calls: int) -> float:
    """CPU microseconds per call of ``call``."""
    started = time.process_time()
    for _ in range(calls):
        call()
    return 1e6 * (time.process_time() - started) / calls


def wall_per_failed_call(call, calls: int) -> float:
    """Wall microseconds per call of ``call``, which must raise a Redis error."""
    started = time.perf_counter()
    for _ in range(calls):
        with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
            call()
    return 1e6 * (time.perf_counter() - started) / calls


POOLS = {"redis-py ConnectionPool": redis.ConnectionPool, "OutageAwareConnectionPool": OutageAwareConnectionPool}


def up(url: str, rounds: int, calls: int) -> list[str]:
    clients = {name: client(cls, url, 2) for name, cls in POOLS.items()}
    key = "bench:redis-outage:probe"
    clients["redis-py ConnectionPool"].set(key, b"x" * 64, ex=600)
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, c in clients.items():
            samples[name].append(cpu_per_call(lambda c=c: c.get(key), calls))
    clients["redis-py ConnectionPool"].delete(key)
    medians = (f"{statistics.median(s):.1f}" for s in samples.values())
    return [f"Redis up: GET, CPU µs/call (median of {rounds} x {calls})", *medians]


def down(url: str, *, calls: int, timeout: float, what: str) -> list[str]:
    """Wall µs per GET with each pool while the server at ``url`` does not serve."""
    per_call = []
    for pool_class in POOLS.values():
        c = client(pool_class, url, timeout)
        per_call.append(f"{wall_per_failed_call(lambda c=c: c.get('k'), calls):,.0f}")
    return [f"Redis {what}: µs/call (wall, {calls} calls)", *per_call]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calls", type=int, default=5000, help="GETs per round while Redis is up")
    parser.add_argument("--timeout", type=float, default=0.2, help="connect and read timeout while it hangs (s)")
    args = parser.parse_args()
    log("Redis up: alternating rounds of GETs")
    rows = [up(args.redis_url, args.rounds, args.calls)]
    with socket.socket() as refused:
        refused.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        log("Redis refusing connections")
        url = f"redis://127.0.0.1:{refused.getsockname()[1]}/0"
        rows.append(down(url, calls=2000, timeout=args.timeout, what="refusing connections"))
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(1024)  # connections are accepted, by the kernel, and never answered
        log(f"Redis hanging ({args.timeout} s timeouts)")
        url = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
        rows.append(down(url, calls=20, timeout=args.timeout, what=f"hanging ({args.timeout} s timeout)"))
    print(table(["", *POOLS], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
