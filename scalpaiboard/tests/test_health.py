"""/api/health while the feed starts ("starting", a 503 for load balancers, no ERROR in the log), and who
is shown its components."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import cache

from markets import snapshot
from scalpaiboard.health import FEED_START_GRACE_SECONDS

pytestmark = pytest.mark.django_db


def beat(*, received: float) -> None:
    """A feed heartbeat written at ``received`` (epoch s) for a tick of that time."""
    cache.set(snapshot.HEARTBEAT_KEY, {"ts": int(received * 1000), "received": received}, timeout=None)


def started(*, seconds_ago: float) -> None:
    """What ``snapshot.feed_started_store`` records, ``seconds_ago``."""
    cache.set(snapshot.STARTED_KEY, time.time() - seconds_ago, timeout=None)


def test_health_reports_starting_with_a_503_and_no_error_while_the_feed_starts(client, caplog):
    started(seconds_ago=2)

    with caplog.at_level(logging.INFO, logger="django.request"):
        response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "starting"
    assert body["components"]["feed"]["status"] == "starting"
    assert 2 <= body["components"]["feed"]["seconds_since_start"] < 4
    assert [r.levelname for r in caplog.records] == ["INFO"]


def test_health_reports_starting_when_a_restarted_feed_has_not_written_since(client):
    beat(received=time.time() - 120)  # the heartbeat of the feed's previous run: stale
    started(seconds_ago=1)

    assert client.get("/api/health").json()["components"]["feed"]["status"] == "starting"


def test_health_reports_the_feed_down_and_the_site_degraded_when_the_feed_never_wrote_within_the_grace(client):
    started(seconds_ago=FEED_START_GRACE_SECONDS + 1)

    response = client.get("/api/health")

    assert response.status_code == 200  # degraded: the site serves what it has (see scalpaiboard/health.py)
    assert response.json()["status"] == "degraded"
    assert response.json()["components"]["feed"]["status"] == "down"


def test_health_reports_stale_when_the_feed_stopped_writing_after_it_started(client):
    started(seconds_ago=30)
    beat(received=time.time() - 20)  # written after the start, then nothing

    assert client.get("/api/health").json()["components"]["feed"]["status"] == "stale"


def test_health_is_ok_once_the_started_feed_has_written(client):
    started(seconds_ago=3)
    beat(received=time.time())

    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json()["components"]["feed"]["status"] == "ok"


def test_the_public_is_told_the_state_alone_and_operators_every_component(client, django_user_model):
    beat(received=time.time())
    public = client.get("/api/health", REMOTE_ADDR="203.0.113.7")
    assert public.json() == {"status": "ok"}  # no hosts, ports, engines or error texts

    operator = client.get("/api/health")  # the test client's 127.0.0.1: loopback, METRICS_ALLOWED_IPS' default
    assert operator.json()["status"] == "ok"
    assert set(operator.json()["components"]) == {"database", "cache", "channel_layer", "broker", "feed"}

    staff = django_user_model.objects.create_user("ops", password="pw-long-enough-1", is_staff=True)
    client.force_login(staff)
    assert "components" in client.get("/api/health", REMOTE_ADDR="203.0.113.7").json()


def test_the_public_is_told_degraded_without_the_reason(client, monkeypatch):
    monkeypatch.setattr("scalpaiboard.health.check_broker", _refused)
    beat(received=time.time())
    response = client.get("/api/health", REMOTE_ADDR="203.0.113.7")
    assert (response.status_code, response.json()) == (200, {"status": "degraded"})
    assert b"6379" not in response.content and b"refused" not in response.content


def _refused() -> dict:
    raise ConnectionRefusedError("Error 111 connecting to redis:6379. Connection refused.")
