"""POST /api/alerts/backtest: the alert's body plus days, answered with when it would have fired over
the stored candles (engine12's alert_backtest), nothing saved; a bad body a 400 naming the field."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from alerts.models import Alert
from alerts.tests.engine_helpers import bars_store


@pytest.fixture
def crossings(coins):
    """BTC's last six 1m closes: 100 is crossed upwards twice."""
    now = int(time.time()) // 60 * 60
    bars_store(coins["BTC"], [99, 101, 102, 99, 101, 100], start=now - 6 * 60)


CROSSING = {"symbol": "btc", "condition": {"kind": "crossing_up", "level": 100}}


def test_a_backtest_answers_when_the_alert_would_have_fired(api, crossings):
    answer = api.post("/api/alerts/backtest", {**CROSSING, "frequency": "every_time", "cooldown": 0}, format="json")
    assert answer.status_code == 200
    result = answer.json()
    assert (result["count"], result["days"], result["replayed_on"]) == (2, 30, "1m closes")
    assert [f["price"] for f in result["firings"]] == [101, 101]
    assert result["firings"][0]["time"].endswith(":59.999Z")


def test_a_backtest_takes_the_alerts_defaults(api, crossings):
    assert api.post("/api/alerts/backtest", {**CROSSING, "days": 1}, format="json").json()["count"] == 1  # only_once


def test_a_backtest_saves_nothing(api, crossings):
    api.post("/api/alerts/backtest", CROSSING, format="json")
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({**CROSSING, "days": 0}, "days"),
        ({**CROSSING, "days": 366}, "days"),
        ({**CROSSING, "days": "30"}, "days"),
        ({**CROSSING, "symbol": "NOPE"}, "symbol"),
        ({**CROSSING, "condition": {"kind": "crossing_up", "level": 0}}, "condition.level"),
        ({**CROSSING, "frequency": "hourly"}, "frequency"),
        ({**CROSSING, "from": "2026-01-01"}, "from"),
    ],
)
def test_a_bad_backtest_is_a_400_naming_the_field(api, sent, field):
    response = api.post("/api/alerts/backtest", sent, format="json")
    assert (response.status_code, set(response.json())) == (400, {"detail", field})


def test_anonymous_callers_cannot_backtest(db):
    assert APIClient().post("/api/alerts/backtest", CROSSING, format="json").status_code == 401
