"""Alerts on the full stack: the feed process, a Celery worker of the queue ``alerts`` holding the
engine, daphne serving /ws, PostgreSQL and Redis. A tick that satisfies an alert becomes an event in
its history and a notification on the owner's /ws socket within a second."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import pytest
import websockets
from django.conf import settings
from django.test import Client

from alerts.changes import alerts_changed
from alerts.conditions import condition_clean
from alerts.models import Alert, AlertEvent
from markets.models import Coin
from tests.processes import BIN, processes, wait_for

pytestmark = pytest.mark.skipif(
    not (settings.REDIS_URL and settings.DATABASES["default"]["ENGINE"].endswith("postgresql")),
    reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: the full stack",
)


async def notification(base: str, cookie: str, ready, *, timeout: float) -> tuple[dict, float]:
    """Subscribe to notifications, call ``ready()``, and return the first notification and when it came."""
    async with websockets.connect(base.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie}) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channel": "notifications"}))
        await asyncio.sleep(0.5)  # the subscription is applied before the alert exists
        await asyncio.to_thread(ready)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic()))
            if message["type"] == "notification":
                return message, time.time()
    raise AssertionError("no notification arrived")


def test_a_tick_that_fires_an_alert_reaches_the_history_and_the_owners_socket_within_a_second(
    seeded_market, tmp_path, django_user_model
):
    user = django_user_model.objects.create_user(username="trader", password="pw-123456789")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    broker = settings.REDIS_URL  # this worker's Redis db; --purge drops batches an earlier run left queued
    env = {"FEED_EMBEDDED": "false", "CELERY_BROKER_URL": broker, "ALERTS_ENGINE_ENABLED": "true"}
    with processes(tmp_path) as group:
        group.start(
            "alerts",
            str(BIN / "celery"),
            "-A",
            "scalpaiboard",
            "worker",
            "--pool",
            "solo",
            "-Q",
            "alerts",
            "--purge",
            **env,
        )
        group.feed(**env)
        base = group.daphne(**env)

        def arm() -> None:
            condition = condition_clean({"kind": "price_above", "level": 1})
            Alert.objects.create(
                user=user,
                coin=Coin.objects.get(symbol="BTC"),
                kind="price_above",
                condition=condition,
                message="{{symbol}} above {{level}} at {{price}}",
            )
            alerts_changed()  # outside a transaction: the version moves at once

        message, received = asyncio.run(notification(base, cookie, arm, timeout=60))
        event = wait_for(lambda: AlertEvent.objects.filter(alert__user=user).first(), what="the event", logs=group)

    fired = datetime.fromisoformat(message["fired_at"].replace("Z", "+00:00")).timestamp()
    assert message["symbol"] == "BTC" and message["message"].startswith("BTC above 1 at ")
    assert message["alert_id"] == event.alert_id and message["price"] == event.price
    assert received - fired < 1.0, f"the notification came {received - fired:.3f} s after the tick"
