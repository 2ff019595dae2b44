"""The alerts admin: the lists and forms open, engine-written fields are read-only, a bad condition is
refused as the API refuses it, and pausing from the list goes through the service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import Alert, AlertEvent, Notification
from alerts.services import alert_create
from scalpaiboard.accounts.models import User


@pytest.fixture
def admin_client(coins):
    staff = User.objects.create_superuser(username="admin", email="admin@example.com", password=None)
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def alert(coins):
    owner = User.objects.create_user(username="trader", email="trader@example.com")
    return alert_create(user=owner, data={"symbol": "BTC", "condition": {"kind": "rsi_above", "level": 70}})


def test_the_lists_and_the_alert_form_open(admin_client, alert):
    event = AlertEvent.objects.create(alert=alert, key="t:1", fired_at=timezone.now(), price=1.0)
    Notification.objects.create(
        user=alert.user, alert=alert, event=event, symbol="BTC", message="m", fired_at=event.fired_at
    )
    for path in ["alert", "alertevent", "notification"]:
        assert admin_client.get(f"/admin/alerts/{path}/").status_code == 200, path
    page = admin_client.get(f"/admin/alerts/alert/{alert.pk}/change/")
    assert page.status_code == 200
    assert "RSI(14) above 70" in admin_client.get("/admin/alerts/alert/").content.decode()


def test_engine_fields_are_read_only(admin_client, alert):
    form = admin_client.get(f"/admin/alerts/alert/{alert.pk}/change/").context["adminform"].form
    assert {"fire_count", "last_fired_at", "last_fired_bar", "engine_state", "kind"}.isdisjoint(form.fields)


def change(alert: Alert, **fields) -> dict:
    data = {
        "user": alert.user_id,
        "coin": alert.coin_id,
        "condition": '{"kind": "rsi_below", "level": 30}',
        "frequency": alert.frequency,
        "timeframe": alert.timeframe,
        "cooldown": alert.cooldown,
        "message": "",
        "note": "",
        "status": alert.status,
    }
    return {**data, **fields}


def test_a_saved_condition_gets_its_defaults_and_kind(admin_client, alert):
    response = admin_client.post(f"/admin/alerts/alert/{alert.pk}/change/", change(alert))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.kind, alert.condition) == ("rsi_below", {"kind": "rsi_below", "level": 30.0, "length": 14})


def test_a_bad_condition_is_refused_naming_the_parameter(admin_client, alert):
    bad = change(alert, condition='{"kind": "rsi_below", "level": 300}')
    form = admin_client.post(f"/admin/alerts/alert/{alert.pk}/change/", bad).context["adminform"].form
    assert form.errors["condition"][0].startswith("condition.level: ")


def test_pausing_from_the_list(admin_client, alert):
    response = admin_client.post("/admin/alerts/alert/", {"action": "pause", "_selected_action": [alert.pk]})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "paused"
