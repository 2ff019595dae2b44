"""An alert's ``channels`` and ``urgent`` through the alerts API: the user's own channels only (another
user's id or an unknown one is a 400 naming ``channels``), duplicates collapsed, edits, export and
import, and the list's fixed query count."""

from __future__ import annotations

import pytest

from alerts.channels import channel_create
from alerts.models import Alert

CROSSING = {"kind": "crossing_up", "level": 101.5}


def body(**fields) -> dict:
    return {"symbol": "BTC", "condition": CROSSING, **fields}


def email(user, address: str = "me@example.com"):
    return channel_create(user=user, data={"kind": "email", "address": address})


def test_an_alert_names_its_channels_and_is_urgent(api, user):
    first, second = email(user), email(user, "you@example.com")
    answer = api.post("/api/alerts", body(channels=[second.pk, first.pk], urgent=True), format="json").json()
    assert (answer["channels"], answer["urgent"]) == ([first.pk, second.pk], True)
    alert = Alert.objects.get()
    assert set(alert.channels.values_list("pk", flat=True)) == {first.pk, second.pk} and alert.urgent


def test_duplicate_channel_ids_are_collapsed(api, user):
    channel = email(user)
    answer = api.post("/api/alerts", body(channels=[channel.pk, channel.pk]), format="json").json()
    assert answer["channels"] == [channel.pk]


def test_another_users_channel_on_an_alert_is_refused_naming_channels(api, user, other):
    theirs = email(other)
    response = api.post("/api/alerts", body(channels=[theirs.pk]), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "channels"}
    assert Alert.objects.count() == 0


@pytest.mark.parametrize("channels", [[10**9], [2**63], [10**30], [-1], [0], "1", [True], [1.5], None, ["1"]])
def test_unknown_ids_and_wrong_types_are_refused_naming_channels(api, user, channels):
    response = api.post("/api/alerts", body(channels=channels), format="json")
    assert response.status_code == 400 and "channels" in response.json()


def test_urgent_must_be_a_boolean(api, user):
    response = api.post("/api/alerts", body(urgent="yes"), format="json")
    assert response.status_code == 400 and "urgent" in response.json()


def test_a_partial_edit_replaces_the_channels_and_leaves_them_when_not_given(api, user):
    first, second = email(user), email(user, "you@example.com")
    alert_id = api.post("/api/alerts", body(channels=[first.pk]), format="json").json()["id"]
    assert api.patch(f"/api/alerts/{alert_id}", {"note": "n"}, format="json").json()["channels"] == [first.pk]
    assert api.patch(f"/api/alerts/{alert_id}", {"channels": [second.pk]}, format="json").json()["channels"] == [
        second.pk
    ]


def test_editing_with_another_users_channel_is_refused_and_changes_nothing(api, user, other):
    mine, theirs = email(user), email(other)
    alert_id = api.post("/api/alerts", body(channels=[mine.pk]), format="json").json()["id"]
    response = api.patch(f"/api/alerts/{alert_id}", {"channels": [theirs.pk]}, format="json")
    assert response.status_code == 400 and "channels" in response.json()
    assert list(Alert.objects.get().channels.values_list("pk", flat=True)) == [mine.pk]


def test_export_and_import_keep_the_channels_and_urgent(api, user):
    channel = email(user)
    api.post("/api/alerts", body(channels=[channel.pk], urgent=True), format="json")
    exported = api.get("/api/alerts/export").json()
    assert (exported["alerts"][0]["channels"], exported["alerts"][0]["urgent"]) == ([channel.pk], True)
    imported = api.post("/api/alerts/import", exported, format="json").json()
    assert [a["channels"] for a in imported["alerts"]] == [[channel.pk]]
    assert Alert.objects.filter(channels=channel).count() == 2


def test_an_import_naming_another_users_channel_names_the_item(api, user, other):
    theirs = email(other)
    response = api.post("/api/alerts/import", {"alerts": [body(), body(channels=[theirs.pk])]}, format="json")
    assert response.status_code == 400 and "alerts[1].channels" in response.json()


def test_the_lists_query_count_does_not_grow_with_channels(api, user, django_assert_num_queries):
    channels = [email(user, f"me{n}@example.com") for n in range(3)]
    for n in range(6):
        api.post("/api/alerts", body(channels=[c.pk for c in channels[: n % 3 + 1]]), format="json")
    with django_assert_num_queries(3):  # the count, the page with the coins, the page's channels
        results = api.get("/api/alerts").json()["results"]
    assert sorted(len(a["channels"]) for a in results) == [1, 1, 2, 2, 3, 3]
