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


async def notifications(base: str, cookie: str, ready, *, count: int, timeout: float) -> list[tuple[dict, float]]:
    """Subscribe to notifications, call ``ready()``, and return the first ``count`` notifications and
    when each came."""
    async with websockets.connect(base.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie}) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channel": "notifications"}))
        await asyncio.sleep(0.5)  # the subscription is applied before the alert exists
        await asyncio.to_thread(ready)
        deadline = time.monotonic() + timeout
        received = []
        while time.monotonic() < deadline and len(received) < count:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=deadline - time.monotonic()))
            if message["type"] == "notification":
                received.append((message, time.time()))
        assert len(received) == count, f"{len(received)} of {count} notifications arrived"
        return received


def test_ticks_that_fire_an_alert_reach_the_history_and_the_owners_socket_within_a_second(
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
                frequency=Alert.Frequency.EVERY_TIME,
                cooldown=0,
                message="{{symbol}} above {{level}} at {{price}}",
            )
            alerts_changed()  # outside a transaction: the version moves at once

        received = asyncio.run(notifications(base, cookie, arm, count=5, timeout=60))
        ids = [message["id"] for message, _ in received]
        wait_for(
            lambda: AlertEvent.objects.filter(notification__id__in=ids).count() == len(ids),
            what="the events",
            logs=group,
        )

    events = {
        e.notification.id: e for e in AlertEvent.objects.filter(notification__id__in=ids).select_related("notification")
    }
    for message, _ in received:
        assert message["symbol"] == "BTC" and message["message"].startswith("BTC above 1 at ")
        assert message["alert_id"] == events[message["id"]].alert_id and message["price"] == events[message["id"]].price
    # Each notification against its tick's exchange time; the median, so that one firing delayed by a
    # busy machine (a test run shares two cores with other tests) does not decide.
    delays = sorted(at - _time(message["fired_at"]) for message, at in received)
    assert delays[len(delays) // 2] < 1.0, (
        f"notifications came {', '.join(f'{d:.3f}' for d in delays)} s after the ticks"
    )


def _time(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
