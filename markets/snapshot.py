"""The latest market state in the cache, written by the feed and read by every process.

Per coin: the last ticker and the forming bar of each timeframe. Besides: a version number the
feed bumps after every update (API responses are cached per version, so they are never older
than the feed's last write), the feed's heartbeat, and when the feed last started.
"""

from __future__ import annotations

import contextlib
import time

from django.core.cache import cache

from scalpaiboard.cache import UNREACHABLE

VERSION_KEY = "market:version"
HEARTBEAT_KEY = "feed:heartbeat"
STARTED_KEY = "feed:started"


def _ticker_key(symbol: str) -> str:
    return f"market:ticker:{symbol}"


def snapshot_store(*, tickers: dict[str, dict], bars: dict[str, dict], version: int, ts: int) -> None:
    """Store every changed coin's ticker and forming bars, then the new version and heartbeat."""
    values = {_ticker_key(s): {"ticker": t, "bars": bars.get(s, {})} for s, t in tickers.items()}
    values[VERSION_KEY] = version
    values[HEARTBEAT_KEY] = {"ts": ts, "received": time.time()}
    _set_many(values)


def _set_many(values: dict) -> None:
    """``cache.set_many`` without expiry; on Redis one MSET, where django-redis sends a SET per key
    (with thousands of coins a second, that difference is a tenth of the feed's CPU)."""
    client = getattr(cache, "client", None)
    if client is None or not hasattr(client, "encode"):
        cache.set_many(values, timeout=None)
        return
    # Dropped while Redis is unreachable, as the cache drops every write then (and logs the outage once).
    with contextlib.suppress(*UNREACHABLE):
        client.get_client(write=True).mset({client.make_key(k): client.encode(v) for k, v in values.items()})


def ticker_get(symbol: str) -> dict | None:
    """The last ticker and forming bars of ``symbol``: {"ticker": {...}, "bars": {tf: bar}}."""
    return cache.get(_ticker_key(symbol))


def market_version() -> int:
    """Bumped by the feed after each update; 0 before the first."""
    return cache.get(VERSION_KEY) or 0


def heartbeat_get() -> dict | None:
    """{"ts": exchange time of the last tick (ms), "received": when the feed stored it (epoch s)}."""
    return cache.get(HEARTBEAT_KEY)


def feed_started_store() -> None:
    """Record that a feed starts now: until its first heartbeat, it is starting, not down."""
    cache.set(STARTED_KEY, time.time(), timeout=None)


def feed_started_get() -> float | None:
    """When a feed last started (epoch s), or None if none has since the cache was emptied."""
    return cache.get(STARTED_KEY)
