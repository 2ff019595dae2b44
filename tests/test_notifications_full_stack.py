"""Deliveries on the full stack: a real ``notify`` worker killed with SIGKILL while webhooks are in flight,
then a new worker. Every delivery arrives, and a duplicate (sent by the dead worker, the remote accepted,
the record never written) carries the same ``webhook-id``, so that the receiver can drop it."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from alerts.conditions import condition_clean
from alerts.firing import Firing, firings_store
from alerts.models import Alert, Channel, Delivery
from alerts.tests.webhook_receiver import WebhookReceiver
from markets.models import Coin
from tests.processes import BIN, processes, wait_for

pytestmark = pytest.mark.skipif(
    not settings.REDIS_URL or connection.vendor != "postgresql", reason="needs the full stack: PostgreSQL and Redis"
)
FIRINGS = 40


def alerts_with_webhook(user, url: str) -> list[int]:
    channel = Channel.objects.create(user=user, kind="webhook", url=url, secret="whsec_" + "A" * 32)
    coins = list(Coin.objects.all())
    condition = condition_clean({"kind": "price_above", "level": 1e12})
    alerts = Alert.objects.bulk_create(
        Alert(user=user, coin=coins[n % len(coins)], kind="price_above", condition=condition) for n in range(FIRINGS)
    )
    for alert in alerts:
        alert.channels.add(channel)
    return [a.pk for a in alerts]


def notify_worker(group, name: str, env: dict):
    """A notify worker of one process (the threads pool): SIGKILL takes all its sends down at once."""
    argv = ["-A", "scalpaiboard", "worker", "--pool", "threads", "--concurrency", "4", "-Q", "notify", "-l", "info"]
    return group.start(name, str(BIN / "celery"), *argv, "-n", f"{name}@%h", "--purge", **env)


def test_a_worker_killed_with_sigkill_mid_burst_loses_no_delivery(seeded_market, tmp_path, django_user_model):
    user = django_user_model.objects.create_user(username="trader", password="pw-123456789")
    env = {
        "FEED_EMBEDDED": "false",
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "NOTIFY_CLAIM_LEASE": "3",  # a dead worker's claims come back after 3 s, not a minute
    }
    # Slow answers: when the worker dies, some webhooks are sent and unrecorded, some in flight.
    with WebhookReceiver(delay=0.25) as receiver, processes(tmp_path) as group:
        ids = alerts_with_webhook(user, receiver.url)
        worker = notify_worker(group, "notify1", env)
        beat = ["-A", "scalpaiboard", "beat", "-s", str(tmp_path / "beat")]
        group.start("beat", str(BIN / "celery"), *beat, **env)
        wait_for(lambda: "ready" in group.log("notify1"), what="the first worker", logs=group)

        now = int(time.time() * 1000)
        firings_store([Firing(a, f"t:{now}", now, 1.0, None) for a in ids])
        receiver.wait_for(FIRINGS // 4, timeout=60)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        deliveries = Delivery.objects.filter(event__alert_id__in=ids)
        recorded = {d.webhook_id for d in deliveries.filter(state="sent")}
        notify_worker(group, "notify2", env)

        wait_for(lambda: deliveries.filter(state="sent").count() == FIRINGS, what="every delivery sent", logs=group)

    expected = {d.webhook_id for d in deliveries}
    received = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(received) == expected  # every one arrived; nothing else did
    # Only what the dead worker handed off without recording it can arrive twice.
    assert all(received[i] == 1 for i in recorded)
    assert len(recorded) < FIRINGS  # the kill came mid-burst, so the new worker had work to take back
