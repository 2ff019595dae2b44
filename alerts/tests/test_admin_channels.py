"""The channels and deliveries admin: the lists open with their filters, deliveries are read-only, and
the replay action makes a new delivery with the same webhook id."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from alerts.models import AlertEvent, Channel, Delivery
from alerts.services import alert_create
from scalpaiboard.accounts.models import User


@pytest.fixture
def admin_client(coins):
    staff = User.objects.create_superuser(username="admin", email="admin@example.com", password=None)
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def delivery(user) -> Delivery:
    channel = Channel.objects.create(user=user, kind="webhook", url="http://127.0.0.1:9/", secret="whsec_x")
    alert = alert_create(user=user, data={"symbol": "BTC", "condition": {"kind": "price_above", "level": 1}})
    event = AlertEvent.objects.create(alert=alert, key="t:1", fired_at=timezone.now(), price=2.0)
    return Delivery.objects.create(event=event, channel=channel)


def test_the_lists_open_with_their_filters(admin_client, delivery):
    for path in ["channel/?kind=webhook&enabled__exact=1", "delivery/?state=pending&channel__kind=webhook"]:
        page = admin_client.get(f"/admin/alerts/{path}")
        assert page.status_code == 200 and page.context["cl"].result_count == 1, path
    assert admin_client.get(f"/admin/alerts/channel/{delivery.channel_id}/change/").status_code == 200


def test_the_secret_is_not_shown(admin_client, delivery):
    page = admin_client.get(f"/admin/alerts/channel/{delivery.channel_id}/change/").content.decode()
    assert "whsec_x" not in page


def test_deliveries_are_read_only(admin_client, delivery):
    page = admin_client.post(f"/admin/alerts/delivery/{delivery.pk}/change/", {"state": "sent"})
    assert page.status_code in (200, 403)
    delivery.refresh_from_db()
    assert delivery.state == "pending"


def test_the_replay_action_keeps_the_webhook_id(admin_client, delivery):
    admin_client.post("/admin/alerts/delivery/", {"action": "replay", "_selected_action": [delivery.pk]})
    replay = Delivery.objects.exclude(pk=delivery.pk).get()
    assert (replay.replay_of_id, replay.webhook_id) == (delivery.pk, delivery.webhook_id)
