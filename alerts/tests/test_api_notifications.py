"""GET /api/notifications (newest first, paginated, the unread filter, a fixed query count) and POST
/api/notifications/read (ids, or all), each user seeing and marking only their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Notification
from alerts.services import alert_create


def notify(user, count: int, **fields) -> list[Notification]:
    start = timezone.now().replace(microsecond=0)
    return [
        Notification.objects.create(
            user=user, symbol="BTC", message=f"BTC crossed 100 ({n})", price=100.5, fired_at=start, **fields
        )
        for n in range(count)
    ]


def test_the_list_holds_the_users_notifications_newest_first(api, user, other):
    alert = alert_create(user=user, data={"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100}})
    mine = notify(user, 2, alert=alert)
    notify(other, 1)
    answer = api.get("/api/notifications").json()
    assert answer["count"] == 2
    first = answer["results"][0]
    assert first == {
        "id": mine[1].pk,
        "kind": "fired",
        "alert_id": alert.pk,
        "symbol": "BTC",
        "message": "BTC crossed 100 (1)",
        "price": 100.5,
        "fired_at": mine[1].fired_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "created_at": mine[1].created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "read_at": None,
        "unread": True,
    }


@pytest.mark.parametrize(
    ("unread", "messages"), [("true", ["(2)", "(0)"]), ("false", ["(1)"]), ("", ["(2)", "(1)", "(0)"])]
)
def test_the_unread_filter(api, user, unread, messages):
    notes = notify(user, 3)
    Notification.objects.filter(pk=notes[1].pk).update(read_at=timezone.now())
    found = api.get("/api/notifications", {"unread": unread}).json()["results"]
    assert [n["message"][-3:] for n in found] == messages


def test_a_bad_unread_value_is_a_400_naming_it(api):
    response = api.get("/api/notifications", {"unread": "maybe"})
    assert (response.status_code, set(response.json())) == (400, {"unread"})


def test_the_lists_query_count_does_not_grow_with_notifications(api, user, django_assert_num_queries):
    notify(user, 12)
    with django_assert_num_queries(2):  # the count, the page
        page = api.get("/api/notifications", {"limit": 5, "offset": 5, "unread": "true"}).json()
    assert (page["count"], len(page["results"])) == (12, 5)


def test_reading_some_marks_those_of_the_user_and_tells_what_is_left(api, user, other):
    mine, theirs = notify(user, 3), notify(other, 1)
    answer = api.post("/api/notifications/read", {"ids": [mine[0].pk, theirs[0].pk]}, format="json")
    assert answer.json() == {"read": 1, "unread": 2}
    assert Notification.objects.get(pk=theirs[0].pk).unread


def test_reading_all_marks_every_one_of_the_user(api, user, other):
    notify(user, 3)
    notify(other, 1)
    assert api.post("/api/notifications/read", {"all": True}, format="json").json() == {"read": 3, "unread": 0}
    assert Notification.objects.filter(read_at=None).count() == 1


def test_a_notification_read_earlier_keeps_its_time(api, user):
    note = notify(user, 1)[0]
    earlier = timezone.now() - timedelta(days=1)
    Notification.objects.filter(pk=note.pk).update(read_at=earlier)
    assert api.post("/api/notifications/read", {"all": True}, format="json").json() == {"read": 0, "unread": 0}
    note.refresh_from_db()
    assert note.read_at == earlier


@pytest.mark.parametrize(
    ("sent", "fields"),
    [
        ({}, {"ids"}),
        ({"all": False}, {"ids"}),
        ({"ids": [1], "all": True}, {"ids"}),
        ({"ids": []}, {"ids"}),
        ({"ids": [0]}, {"ids[0]"}),
        ({"all": True, "everything": True}, {"everything"}),
    ],
)
def test_a_bad_read_request_is_a_400_naming_the_field(api, sent, fields):
    response = api.post("/api/notifications/read", sent, format="json")
    assert (response.status_code, set(response.json())) == (400, fields)
