"""/api/health while the feed starts: "starting", a 503 for load balancers, and no ERROR in the log."""

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
