"""Redis down under the real processes: daphne and run_feed on a Redis server of this test's own,
which it kills and starts again on the same port.

While it is down: every /api/coins* endpoint answers (from the database, with the prices' age; the
simulation's order book and trades a 503 naming the cache), the pages render, /api/health says
"degraded" with a 200, new /ws handshakes are refused with a 403, an open socket stays open and
answers, and the feed goes on writing the database. When it is back, all of it recovers within
seconds, without a restart. The answers and timings are printed (pytest -s) for the closing note.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from markets.models import Coin
from tests.processes import Processes, RedisServer, free_port, processes

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: embedded mode has no Redis")

UNAVAILABLE = "the simulated exchange's live state is kept in the cache (Redis), which is unreachable now"
RECOVERY_SECONDS = 10  # the cache retries every second, channels_redis' receiver every second

# Path, expected status, and a check of the body, with Redis down.
API = [
    ("/api/coins?limit=100", 200, lambda b: len(b["results"]) == 5 and all(c["age"] < 3 for c in b["results"])),
    ("/api/coins/BTC", 200, lambda b: b["symbol"] == "BTC" and b["age"] < 3),
    ("/api/coins/BTC/candles?timeframe=1m&limit=5", 200, lambda b: b[-1]["time"] < time.time() // 60 * 60),
    ("/api/coins/BTC/orderbook", 503, lambda b: b["detail"] == UNAVAILABLE),
    ("/api/coins/BTC/trades", 503, lambda b: b["detail"] == UNAVAILABLE),
    ("/api/coins/BTC/analysis", 200, lambda b: b["forming"] is False),
    ("/api/coins/BTC/patterns", 200, lambda b: b["symbol"] == "BTC"),
    ("/api/screener", 200, lambda b: b["count"] == 5),
]
PAGES = [
    ("/", "Bitcoin"),
    ("/coins/BTC", 'data-symbol="BTC"'),
    ("/coins/BTC/analysis", "BTC analysis"),
    ("/coins/BTC/orderbook", "Order book unavailable"),
    ("/coins/BTC/trades", "Trades unavailable"),
    ("/markets/overview", "Top gainers"),
]


async def until(condition, *, what: str, timeout: float, group: Processes):
    """Await ``condition()`` until it returns something truthy; its result, or fail with the logs."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if result := await condition():
                return result
        except Exception as error:  # not yet
            last = error
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})\n{group.dump()}")


class Probe:
    """Requests to the server under test, each printed with its status, latency and body."""

    def __init__(self, base: str):
        self.base = base
        self.http = httpx.AsyncClient(base_url=base, timeout=30)

    async def get(self, path: str) -> httpx.Response:
        started = time.perf_counter()
        response = await self.http.get(path)
        print(
            f"{response.status_code} {1000 * (time.perf_counter() - started):7.1f} ms  {path}  {response.text[:140]!r}"
        )
        return response

    def socket(self):
        return websockets.connect(self.base.replace("http", "ws") + "/ws", proxy=None, open_timeout=10)

    async def handshake(self) -> int:
        """The HTTP status a new /ws handshake gets (101: accepted)."""
        try:
            async with self.socket():
                return 101
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    async def healthy(self) -> bool:
        return (await self.http.get("/api/health")).json()["status"] == "ok"


async def next_ticker(ws, timeout: float = 10, *, after: float = 0.0) -> dict:
    """The next ticker message on ``ws`` of an exchange time later than ``after`` (epoch seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        tickers = message.get("data", [message])
        if message["type"] in ("ticker", "tickers") and max(t["ts"] for t in tickers) / 1000 > after:
            return message


async def drained(ws) -> list[dict]:
    """The messages waiting on ``ws``."""
    messages = []
    with contextlib.suppress(TimeoutError):
        while True:
            messages.append(json.loads(await asyncio.wait_for(ws.recv(), 0.2)))
    return messages


async def written_since(moment: float) -> bool:
    """Whether the feed has written the coins' figures to the database since ``moment``."""
    newest = await Coin.objects.filter(is_active=True).alatest("updated_at")
    return newest.updated_at.timestamp() > moment


async def test_the_site_degrades_without_redis_and_recovers_when_it_returns(seeded_market, tmp_path):
    redis = RedisServer(free_port(), tmp_path / "redis.log")
    redis.start()
    try:
        with processes(tmp_path) as group:
            env = {"REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url, "FEED_EMBEDDED": "false"}
            group.feed(**env)
            probe = Probe(await asyncio.to_thread(group.daphne, **env))
            await until(probe.healthy, what="every component healthy", timeout=60, group=group)
            async with probe.socket() as ws:
                await ws.send(json.dumps({"action": "subscribe", "symbols": ["BTC"]}))
                await next_ticker(ws)
                redis.stop()
                print(f"\n--- Redis killed at {datetime.now():%H:%M:%S.%f}")
                await degraded(probe, ws, group)
                redis.start()
                print(f"--- Redis started again at {datetime.now():%H:%M:%S.%f}")
                await recovered(probe, ws, group)
            for failure in ("Internal Server Error", "Exception inside application"):
                assert failure not in group.log("daphne")
    finally:
        redis.stop()
        await sync_to_async(connections.close_all)()  # this test's queries, so that its database can go


async def degraded(probe: Probe, ws, group: Processes) -> None:
    """Every endpoint, page, /api/health and /ws answer as they should while Redis is down."""
    killed = time.time()
    await until(lambda: written_since(killed), what="the feed to write the database", timeout=10, group=group)
    for path, status, check in API:
        response = await probe.get(path)
        assert response.status_code == status, path
        assert check(response.json()), path
    for path, text in PAGES:
        response = await probe.get(path)
        assert response.status_code == 200 and text in response.text, path
    assert (await probe.get("/markets/feed-status")).text.strip() == ""  # no "data delayed": the feed writes

    health = await probe.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    states = {name: c["status"] for name, c in health.json()["components"].items()}
    assert states == {"database": "ok", "cache": "down", "channel_layer": "down", "broker": "down", "feed": "ok"}

    started = time.perf_counter()
    assert await probe.handshake() == 403
    print(f"/ws handshake refused: 403 in {1000 * (time.perf_counter() - started):.1f} ms")
    await drained(ws)  # tickers sent before the kill
    await ws.send(json.dumps({"action": "subscribe", "symbols": ["ETH"]}))
    answer = json.loads(await asyncio.wait_for(ws.recv(), 10))  # the socket is open, and answers
    assert answer == {"type": "subscribed", "channel": "prices", "symbols": ["BTC", "ETH"]}
    await until(lambda: written_since(time.time() - 1), what="the feed to go on writing", timeout=10, group=group)
    assert await drained(ws) == []  # no live data without the channel layer


async def recovered(probe: Probe, ws, group: Processes) -> None:
    """How long after Redis is back each part works again (and that each does within seconds)."""
    back, back_at = time.monotonic(), time.time()

    async def orderbook() -> bool:
        return (await probe.http.get("/api/coins/BTC/orderbook")).status_code == 200

    async def forming_bar() -> bool:
        bars = (await probe.http.get("/api/coins/BTC/candles?timeframe=1m&limit=2")).json()
        return bars[-1]["time"] == time.time() // 60 * 60  # the current minute's, from the feed's snapshot

    async def new_socket() -> bool:
        async with probe.socket() as fresh:
            await fresh.send(json.dumps({"action": "subscribe", "symbols": ["BTC"]}))
            return bool(await next_ticker(fresh, timeout=5))

    async def open_socket() -> bool:
        return bool(await next_ticker(ws, timeout=5, after=back_at))

    checks = {"health ok": probe.healthy, "order book": orderbook, "forming bar": forming_bar}
    checks |= {"new /ws socket live": new_socket, "open /ws socket live": open_socket}

    async def timed(name: str, check) -> None:
        await until(check, what=f"{name} after Redis returned", timeout=RECOVERY_SECONDS, group=group)
        print(f"recovered: {name} {time.monotonic() - back:.2f} s after Redis started")

    await asyncio.gather(*(timed(name, check) for name, check in checks.items()))
