"""Alert reads: each user's own alerts only, the 404 for another's, the JSON shapes with times in ISO
8601 UTC with milliseconds and Z, and the unread count."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.http import Http404
from django.utils import timezone

from alerts.models import Alert, Notification
from alerts.selectors import alert_as_json, alert_get, alerts_list, iso_ms, notifications_unread_count
from alerts.services import alert_create


def create(user, **fields) -> Alert:
    return alert_create(user=user, data={"symbol": "BTC", "condition": {"kind": "crossing", "level": 5}, **fields})


def test_a_user_lists_their_own_alerts_only(user, other):
    mine = create(user)
    create(other)
    assert list(alerts_list(user=user)) == [mine]


def test_another_users_alert_is_not_found(user, other):
    theirs = create(other)
    with pytest.raises(Http404, match=f"You have no alert {theirs.pk}"):
        alert_get(user=user, id=theirs.pk)


def test_times_are_iso_utc_with_milliseconds_and_z():
    moment = datetime(2026, 12, 7, 4, 0, 0, 123456, tzinfo=UTC)
    assert iso_ms(moment) == "2026-12-07T04:00:00.123Z"
    assert iso_ms(timezone.localtime(moment, timezone.get_fixed_timezone(120))) == "2026-12-07T04:00:00.123Z"
    assert iso_ms(None) is None


def test_an_alert_as_json_has_the_contracts_fields(user):
    alert = create(user, expires_at="2999-06-01T12:00:00Z", note="n")
    Alert.objects.filter(pk=alert.pk).update(last_fired_at=datetime(2026, 12, 7, 4, tzinfo=UTC), fire_count=3)
    answer = alert_as_json(alert_get(user=user, id=alert.pk))
    assert list(answer) == [
        "id",
        "symbol",
        "watchlist",
        "condition",
        "condition_text",
        "frequency",
        "timeframe",
        "cooldown",
        "expires_at",
        "message",
        "note",
        "status",
        "created_at",
        "last_fired_at",
        "fire_count",
        "channels",
        "urgent",
    ]
    assert (answer["expires_at"], answer["last_fired_at"]) == ("2999-06-01T12:00:00.000Z", "2026-12-07T04:00:00.000Z")
    assert (answer["condition_text"], answer["fire_count"]) == ("crosses 5", 3)


def test_the_unread_count_is_the_users_unread_notifications(user, other):
    for owner, read_at in [(user, None), (user, None), (user, timezone.now()), (other, None)]:
        Notification.objects.create(user=owner, symbol="BTC", message="m", fired_at=timezone.now(), read_at=read_at)
    assert notifications_unread_count(user=user) == 2
