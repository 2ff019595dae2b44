"""The delivery log API: the answer's shape, the user's deliveries only, filters (an unknown state a
400 naming ``state``), pages and a fixed query count, and replay (a new delivery with the same
``webhook_id``; another user's delivery a 404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.channels import channel_create
from alerts.models import AlertEvent, Delivery
from alerts.services import alert_create

URL = "/api/notifications/deliveries"


def fired(user, *, symbol: str = "BTC", channels: int = 1, key: str = "t:1") -> list[Delivery]:
    """A firing of a new alert of ``user`` on ``symbol``, delivered to ``channels`` new email channels."""
    made = [
        channel_create(user=user, data={"kind": "email", "address": f"{symbol.lower()}{n}@example.com"})
        for n in range(channels)
    ]
    alert = alert_create(user=user, data={"symbol": symbol, "condition": {"kind": "price_above", "level": 1}})
    event = AlertEvent.objects.create(
        alert=alert, key=key, fired_at=timezone.now(), price=2.0, message=f"{symbol} above 1"
    )
    return [Delivery.objects.create(event=event, channel=channel) for channel in made]


def test_a_delivery_answers_with_the_contracts_fields(api, user):
    (delivery,) = fired(user)
    Delivery.objects.filter(pk=delivery.pk).update(
        state="failed", attempts=2, last_error="HTTP 503", next_attempt_at=timezone.now() + timedelta(seconds=30)
    )
    (answer,) = api.get(URL).json()["results"]
    assert answer["next_attempt_at"].endswith("Z") and answer.pop("created_at").endswith("Z")
    del answer["next_attempt_at"]
    assert answer == {
        "id": delivery.pk,
        "channel": delivery.channel_id,
        "channel_kind": "email",
        "alert": delivery.event.alert_id,
        "event": delivery.event_id,
        "symbol": "BTC",
        "message": "BTC above 1",
        "state": "failed",
        "attempts": 2,
        "last_error": "HTTP 503",
        "held": False,
        "sent_at": None,
        "latency_ms": None,
        "replay_of": None,
        "webhook_id": f"msg_{delivery.pk}",
    }


def test_the_log_holds_only_the_users_deliveries_newest_first(api, user, other):
    first, second = fired(user, channels=2)
    fired(other)
    assert [d["id"] for d in api.get(URL).json()["results"]] == [second.pk, first.pk]


@pytest.mark.parametrize("by", ["state", "channel", "alert"])
def test_the_log_filters_by_state_channel_and_alert(api, user, by):
    btc, eth = fired(user, symbol="BTC")[0], fired(user, symbol="ETH")[0]
    Delivery.objects.filter(pk=eth.pk).update(state="dead")
    query = {"state": "dead", "channel": eth.channel_id, "alert": eth.event.alert_id}[by]
    assert [d["id"] for d in api.get(URL, {by: query}).json()["results"]] == [eth.pk]
    assert btc.pk in [d["id"] for d in api.get(URL).json()["results"]]


def test_another_users_channel_as_a_filter_finds_nothing(api, user, other):
    fired(user)
    (theirs,) = fired(other)
    assert api.get(URL, {"channel": theirs.channel_id}).json()["count"] == 0


@pytest.mark.parametrize(("query", "field"), [({"state": "lost"}, "state"), ({"channel": "x"}, "channel")])
def test_a_bad_filter_is_a_400_naming_it(api, user, query, field):
    response = api.get(URL, query)
    assert response.status_code == 400 and field in response.json()


def test_the_log_is_paginated_with_a_fixed_query_count(api, user, django_assert_num_queries):
    for n, symbol in enumerate(["BTC", "ETH", "SOL"]):
        fired(user, symbol=symbol, channels=2, key=f"t:{n}")
    with django_assert_num_queries(2):  # the count, the page with channels, firings, alerts and coins
        page = api.get(URL, {"limit": 4}).json()
    assert page["count"] == 6 and len(page["results"]) == 4 and page["next"]
    with django_assert_num_queries(2):
        assert len(api.get(URL, {"limit": 4, "offset": 4}).json()["results"]) == 2


def test_replay_creates_a_delivery_with_the_same_webhook_id(api, user):
    (delivery,) = fired(user)
    response = api.post(f"{URL}/{delivery.pk}/replay")
    assert response.status_code == 201
    answer = response.json()
    assert answer["id"] != delivery.pk and answer["replay_of"] == delivery.pk
    assert answer["webhook_id"] == f"msg_{delivery.pk}" and answer["state"] == "pending"
    assert Delivery.objects.filter(event=delivery.event, channel=delivery.channel).count() == 2


def test_a_replay_of_a_replay_keeps_the_first_webhook_id(api, user):
    (delivery,) = fired(user)
    replay = api.post(f"{URL}/{delivery.pk}/replay").json()
    again = api.post(f"{URL}/{replay['id']}/replay").json()
    assert (again["replay_of"], again["webhook_id"]) == (delivery.pk, f"msg_{delivery.pk}")


def test_replaying_another_users_delivery_is_404(api, user, other):
    (theirs,) = fired(other)
    assert api.post(f"{URL}/{theirs.pk}/replay").status_code == 404
    assert Delivery.objects.count() == 1
