"""The full stack on PostgreSQL and Redis: separate processes talking through the real services."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django_celery_beat.models import PeriodicTask

from markets.models import Candle, Coin
from scalpaiboard.routing import application
from tests.processes import BIN, processes, wait_for

pytestmark = pytest.mark.skipif(
    not (settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")),
    reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: the full stack",
)


async def first_batch(ws_receive, *, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(await asyncio.wait_for(ws_receive(), timeout=deadline - time.monotonic()))
        if message["type"] == "tickers":
            return message
    raise AssertionError("no ticker batch arrived")


def test_a_tick_published_by_the_feed_process_reaches_a_consumer_in_this_process(seeded_market, tmp_path):
    """run_feed publishes through channels-redis; a consumer in the test process receives it."""

    async def receive_from_feed() -> dict:
        communicator = WebsocketCommunicator(application, "/ws")
        assert (await communicator.connect())[0]
        await communicator.send_json_to({"action": "subscribe", "symbols": "*"})
        assert (await communicator.receive_json_from())["type"] == "subscribed"
        try:
            return await first_batch(lambda: communicator.receive_from(timeout=60), timeout=60)
        finally:
            await communicator.disconnect()

    with processes(tmp_path) as group:
        group.feed()
        batch = asyncio.run(receive_from_feed())
    symbols = [t["symbol"] for t in batch["data"]]
    assert sorted(symbols) == sorted(seeded_market)
    assert all(abs(t["ts"] / 1000 - time.time()) < 10 and t["price"] > 0 for t in batch["data"])


def test_daphne_feed_worker_and_beat_run_together(seeded_market, tmp_path):
    """The processes of docker-compose.yml, run here: health, live prices, tasks and the schedule."""
    broker = settings.REDIS_URL.rsplit("/", 1)[0] + "/15"  # a queue of its own for this test
    old = Candle.objects.create(
        coin=Coin.objects.get(symbol="BTC"),
        timeframe="1m",
        open_time=datetime.now(UTC) - timedelta(days=30),
        open=1,
        high=1,
        low=1,
        close=1,
        volume=1,
    )
    with processes(tmp_path) as group:
        env = {"FEED_EMBEDDED": "false", "CELERY_BROKER_URL": broker}
        group.feed(**env)
        group.start(
            "worker", str(BIN / "celery"), "-A", "scalpaiboard", "worker", "--pool", "solo", "-Q", "default", **env
        )
        group.start(
            "beat", str(BIN / "celery"), "-A", "scalpaiboard", "beat", "--pidfile", str(tmp_path / "beat.pid"), **env
        )
        base = group.daphne(**env)

        health = wait_for(
            lambda: (body := httpx.get(f"{base}/api/health", timeout=5).json())["status"] == "ok" and body,
            what="every component healthy",
            logs=group,
        )
        assert {c["status"] for c in health["components"].values()} == {"ok"}
        assert health["components"]["broker"]["status"] == "ok"

        async def ws_batch() -> dict:
            async with websockets.connect(base.replace("http", "ws") + "/ws") as ws:
                await ws.send(json.dumps({"action": "subscribe", "symbols": ["BTC", "ETH"]}))
                return await first_batch(ws.recv, timeout=20)

        batch = asyncio.run(ws_batch())
        assert {t["symbol"] for t in batch["data"]} == {"BTC", "ETH"}

        coin = httpx.get(f"{base}/api/coins/BTC", timeout=5).json()
        age = time.time() - datetime.fromisoformat(coin["updated_at"]).timestamp()
        assert age < 3, f"API price is {age:.1f} s old"

        from scalpaiboard.celery import app

        with app.connection_for_write(broker) as conn:
            app.send_task("markets.tasks.candles_prune", connection=conn, queue="default")
        wait_for(lambda: not Candle.objects.filter(pk=old.pk).exists(), what="the worker to prune", logs=group)
        wait_for(
            lambda: PeriodicTask.objects.filter(task="markets.tasks.candles_prune").exists(),
            what="beat to install its schedule",
            logs=group,
        )
