"""The alerts API: the 201 answer and its defaults, every bad input a 400 naming the field, another
user's alert a 404 on every method, the list's filters, pages and query counts, firings' history,
pause, resume, bulk actions, export and import, and authentication."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import Alert, AlertEvent
from alerts.services import alert_create

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CROSSING = {"kind": "crossing_up", "level": 101.5}


def body(**fields) -> dict:
    return {"symbol": "BTC", "condition": CROSSING, **fields}


def create(user, **fields) -> Alert:
    return alert_create(user=user, data=body(**fields))


# --- creating ------------------------------------------------------------------------------------------


def test_creating_answers_201_with_the_alert_and_its_defaults(api):
    response = api.post("/api/alerts", body(), format="json")
    assert response.status_code == 201
    alert = response.json()
    assert response["Location"] == f"/api/alerts/{alert['id']}"
    assert ISO_MS.match(alert.pop("created_at"))
    assert alert == {
        "id": Alert.objects.get().pk,
        "symbol": "BTC",
        "watchlist": None,
        "condition": CROSSING,
        "condition_text": "crosses up 101.5",
        "frequency": "only_once",
        "timeframe": "1m",
        "cooldown": 60,
        "expires_at": None,
        "message": "",
        "note": "",
        "status": "active",
        "last_fired_at": None,
        "fire_count": 0,
        "channels": [],
        "urgent": False,
    }


def test_the_contracts_full_body_is_taken_as_given(api):
    sent = body(
        symbol="btc",
        frequency="once_per_bar",
        timeframe="1m",
        cooldown=60,
        expires_at="2999-01-01T00:00:00Z",
        message="{{symbol}} crossed {{level}} at {{price}}",
        note="",
    )
    alert = api.post("/api/alerts", sent, format="json").json()
    assert {k: alert[k] for k in sent} == {**sent, "symbol": "BTC", "expires_at": "2999-01-01T00:00:00.000Z"}


def test_a_form_encoded_body_is_refused(api):
    assert api.post("/api/alerts", {"symbol": "BTC"}).status_code == 415


# Each bad input of the issue, and the field its 400 names.
BAD = {
    "unknown kind": (body(condition={"kind": "price_sideways", "level": 1}), "condition.kind"),
    "kind not a string": (body(condition={"kind": {"name": "crossing_up"}, "level": 1}), "condition.kind"),
    "missing level": (body(condition={"kind": "crossing_up"}), "condition.level"),
    "non-numeric level": (body(condition={"kind": "crossing_up", "level": "high"}), "condition.level"),
    "zero level": (body(condition={"kind": "price_above", "level": 0}), "condition.level"),
    "negative level": (body(condition={"kind": "price_below", "level": -5}), "condition.level"),
    "low above high": (body(condition={"kind": "entering_channel", "low": 110, "high": 100}), "condition.low"),
    "low equal to high": (body(condition={"kind": "exiting_channel", "low": 100, "high": 100}), "condition.low"),
    "zero percent": (body(condition={"kind": "moving_up", "percent": 0, "bars": 3}), "condition.percent"),
    "no bars": (body(condition={"kind": "moving_down", "percent": 2, "bars": 0}), "condition.bars"),
    "fast not under slow": (body(condition={"kind": "ma_cross_golden", "fast": 50, "slow": 20}), "condition.fast"),
    "unknown pattern": (body(condition={"kind": "pattern_detected", "patterns": ["cup"]}), "condition.patterns"),
    "all_of of one": (body(condition={"kind": "all_of", "conditions": [CROSSING]}), "condition.conditions"),
    "all_of of six": (body(condition={"kind": "all_of", "conditions": [CROSSING] * 6}), "condition.conditions"),
    "nested all_of": (
        body(condition={"kind": "all_of", "conditions": [{"kind": "all_of", "conditions": []}, CROSSING]}),
        "condition.conditions[0].kind",
    ),
    "bad level inside all_of": (
        body(condition={"kind": "all_of", "conditions": [CROSSING, {"kind": "rsi_above", "level": 101}]}),
        "condition.conditions[1].level",
    ),
    "unknown symbol": (body(symbol="NOPE"), "symbol"),
    "unknown timeframe": (body(timeframe="2m"), "timeframe"),
    "unknown frequency": (body(frequency="hourly"), "frequency"),
    "expiry in the past": (body(expires_at="2020-01-01T00:00:00Z"), "expires_at"),
    "unknown placeholder": (body(message="{{symbol}} at {{bid}}"), "message"),
    "negative cooldown": (body(cooldown=-1), "cooldown"),
    "unknown field": (body(colour="red"), "colour"),
}


@pytest.mark.parametrize(("sent", "field"), BAD.values(), ids=BAD.keys())
def test_a_bad_input_is_a_400_naming_the_field(api, sent, field):
    response = api.post("/api/alerts", sent, format="json")
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"detail", field}
    assert field in answer["detail"] and answer[field][0]
    assert not Alert.objects.exists()


def test_an_unknown_placeholder_is_named_with_those_allowed(api):
    message = api.post("/api/alerts", body(message="{{bid}}"), format="json").json()["message"][0]
    assert message.startswith("Unknown placeholders {{bid}}; allowed: {{symbol}}, {{price}}")


def test_the_alert_past_alerts_per_user_is_a_400_saying_so(api, user, settings):
    settings.ALERTS_PER_USER = 3
    for _ in range(3):
        create(user)
    response = api.post("/api/alerts", body(), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "You have 3 active alerts and may have at most 3 (ALERTS_PER_USER): pause or delete some first."
    }


# --- one alert -----------------------------------------------------------------------------------------


def test_an_alert_is_read_by_its_id(api, user):
    alert = create(user, note="mine")
    assert api.get(f"/api/alerts/{alert.pk}").json()["note"] == "mine"


def test_put_replaces_the_alert(api, user):
    alert = create(user, frequency="every_time", note="old")
    replacement = body(symbol="ETH", condition={"kind": "crossing", "level": 3000})
    answer = api.put(f"/api/alerts/{alert.pk}", replacement, format="json")
    assert answer.status_code == 200
    assert {k: answer.json()[k] for k in ("symbol", "condition_text", "frequency", "note")} == {
        "symbol": "ETH",
        "condition_text": "crosses 3000",
        "frequency": "only_once",
        "note": "",
    }


def test_patch_changes_the_fields_given(api, user):
    alert = create(user, frequency="every_time")
    answer = api.patch(f"/api/alerts/{alert.pk}", {"cooldown": 120}, format="json").json()
    assert (answer["frequency"], answer["cooldown"]) == ("every_time", 120)


def test_a_bad_edit_is_a_400_naming_the_field(api, user):
    alert = create(user)
    response = api.patch(f"/api/alerts/{alert.pk}", {"condition": {"kind": "crossing_up"}}, format="json")
    assert (response.status_code, set(response.json())) == (400, {"detail", "condition.level"})


def test_delete_answers_204_and_the_alert_is_gone(api, user):
    alert = create(user)
    assert api.delete(f"/api/alerts/{alert.pk}").status_code == 204
    assert api.get(f"/api/alerts/{alert.pk}").status_code == 404


def test_pause_then_resume(api, user):
    alert = create(user)
    assert api.post(f"/api/alerts/{alert.pk}/pause").json()["status"] == "paused"
    assert api.post(f"/api/alerts/{alert.pk}/resume").json()["status"] == "active"


def test_resuming_an_alert_whose_expiry_has_passed_is_a_400(api, user):
    alert = create(user, expires_at=(timezone.now() + timedelta(hours=1)).isoformat())
    Alert.objects.filter(pk=alert.pk).update(status="expired", expires_at=timezone.now() - timedelta(hours=1))
    response = api.post(f"/api/alerts/{alert.pk}/resume")
    assert (response.status_code, set(response.json())) == (400, {"detail", "expires_at"})


OWN_ALERT_OPERATIONS = [
    ("get", ""),
    ("put", ""),
    ("patch", ""),
    ("delete", ""),
    ("get", "/history"),
    ("post", "/pause"),
    ("post", "/resume"),
]


@pytest.mark.parametrize(("method", "tail"), OWN_ALERT_OPERATIONS)
def test_another_users_alert_is_a_404(api, other, method, tail):
    theirs = create(other, note="theirs")
    response = getattr(api, method)(f"/api/alerts/{theirs.pk}{tail}", body(note="mine now"), format="json")
    assert response.status_code == 404
    assert response.json() == {"detail": f"You have no alert {theirs.pk}. GET /api/alerts lists yours."}
    theirs.refresh_from_db()
    assert (theirs.status, theirs.note) == ("active", "theirs")


@pytest.mark.parametrize(("method", "tail"), OWN_ALERT_OPERATIONS)
def test_an_id_beyond_any_alert_is_a_404(api, method, tail):
    response = getattr(api, method)(f"/api/alerts/{2**70}{tail}", body(), format="json")
    assert response.status_code == 404


# --- the list ------------------------------------------------------------------------------------------


def test_the_list_holds_the_users_alerts_newest_first(api, user, other):
    first, second = create(user), create(user, symbol="ETH")
    create(other)
    answer = api.get("/api/alerts").json()
    assert answer["count"] == 2
    assert [a["id"] for a in answer["results"]] == [second.pk, first.pk]


def test_the_lists_query_count_does_not_grow_with_alerts(api, user, django_assert_num_queries):
    for symbol in ["BTC", "ETH", "SOL", "DOGE", "PEPE"] * 2:
        create(user, symbol=symbol)
    with django_assert_num_queries(3):  # the count, the page with the coins, the page's channels
        assert len(api.get("/api/alerts", {"symbol": "btc"}).json()["results"]) == 2
    with django_assert_num_queries(3):
        assert len(api.get("/api/alerts").json()["results"]) == 10


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "paused"}, ["ETH rsi_above"]),
        ({"symbol": "eth"}, ["ETH rsi_above", "ETH crossing_up"]),
        ({"kind": "crossing_up"}, ["ETH crossing_up", "BTC crossing_up"]),
        ({"symbol": "BTC", "kind": "crossing_up", "status": "active"}, ["BTC crossing_up"]),
        ({"symbol": "", "kind": "", "status": ""}, ["ETH rsi_above", "ETH crossing_up", "BTC crossing_up"]),
    ],
)
def test_the_list_filters_by_status_symbol_and_kind(api, user, query, expected):
    create(user)
    create(user, symbol="ETH")
    paused = create(user, symbol="ETH", condition={"kind": "rsi_above", "level": 70})
    api.post(f"/api/alerts/{paused.pk}/pause")
    found = api.get("/api/alerts", query).json()["results"]
    assert [f"{a['symbol']} {a['condition']['kind']}" for a in found] == expected


@pytest.mark.parametrize("query", [{"status": "sleeping"}, {"kind": "price_sideways"}, {"symbol": "x" * 21}])
def test_a_bad_filter_is_a_400_naming_it(api, query):
    response = api.get("/api/alerts", query)
    assert (response.status_code, set(response.json())) == (400, set(query))


def test_the_list_is_paginated(api, user):
    alerts = [create(user) for _ in range(5)]
    page = api.get("/api/alerts", {"limit": 2, "offset": 2}).json()
    assert page["count"] == 5 and page["next"] and page["previous"]
    assert [a["id"] for a in page["results"]] == [alerts[2].pk, alerts[1].pk]


# --- history -------------------------------------------------------------------------------------------


def fire(alert: Alert, count: int) -> list[AlertEvent]:
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=count)
    return [
        AlertEvent.objects.create(
            alert=alert,
            key=f"bar:{int((start + timedelta(minutes=n)).timestamp())}",
            fired_at=start + timedelta(minutes=n, seconds=59, milliseconds=250),
            price=100.0 + n,
            bar_open=start + timedelta(minutes=n),
            values={"rsi": 70.5},
            message=f"fired {n}",
        )
        for n in range(count)
    ]


def test_the_history_holds_each_firing_newest_first(api, user):
    alert = create(user)
    events = fire(alert, 3)
    answer = api.get(f"/api/alerts/{alert.pk}/history").json()
    assert answer["count"] == 3
    newest = answer["results"][0]
    assert newest == {
        "id": events[2].pk,
        "symbol": "BTC",
        "fired_at": events[2].fired_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "price": 102.0,
        "bar_open": events[2].bar_open.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "values": {"rsi": 70.5},
        "message": "fired 2",
    }
    assert newest["fired_at"].endswith(".250Z")


def test_the_history_is_paginated_with_a_fixed_query_count(api, user, django_assert_num_queries):
    alert = create(user)
    events = fire(alert, 7)
    with django_assert_num_queries(3):  # the alert, the count, the page
        page = api.get(f"/api/alerts/{alert.pk}/history", {"limit": 3, "offset": 3}).json()
    assert [e["id"] for e in page["results"]] == [e.pk for e in events[3:0:-1]]


# --- bulk, export, import ------------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "status"), [("pause", "paused"), ("delete", None)])
def test_bulk_actions_change_the_users_alerts_and_ignore_others(api, user, other, action, status):
    mine = [create(user) for _ in range(2)]
    theirs = create(other)
    answer = api.post("/api/alerts/bulk", {"action": action, "ids": [a.pk for a in [*mine, theirs]]}, format="json")
    assert answer.json() == {"action": action, "count": 2}
    theirs.refresh_from_db()
    assert theirs.status == "active"
    assert list(Alert.objects.filter(user=user).values_list("status", flat=True)) == ([status] * 2 if status else [])


def test_bulk_resume_re_arms_paused_alerts(api, user):
    alerts = [create(user) for _ in range(3)]
    api.post("/api/alerts/bulk", {"action": "pause", "ids": [a.pk for a in alerts]}, format="json")
    answer = api.post("/api/alerts/bulk", {"action": "resume", "ids": [alerts[0].pk]}, format="json").json()
    assert answer == {"action": "resume", "count": 1}


@pytest.mark.parametrize(
    ("sent", "fields"),
    [
        ({"action": "archive", "ids": [1]}, {"action"}),
        ({"action": "pause", "ids": []}, {"ids"}),
        ({"action": "pause", "ids": [1, "two"]}, {"ids[1]"}),
        ({"action": "pause"}, {"ids"}),
    ],
)
def test_a_bad_bulk_request_is_a_400_naming_the_field(api, sent, fields):
    response = api.post("/api/alerts/bulk", sent, format="json")
    assert (response.status_code, set(response.json())) == (400, fields)


def test_export_then_import_round_trip(api, user):
    create(user, frequency="once_per_bar_close", timeframe="4h", message="{{symbol}} {{price}}", note="n")
    create(user, symbol="ETH", condition={"kind": "bb_break_upper"}, expires_at="2999-01-01T00:00:00Z")
    exported = api.get("/api/alerts/export").json()
    Alert.objects.all().delete()
    imported = api.post("/api/alerts/import", exported, format="json")
    assert imported.status_code == 201 and imported.json()["count"] == 2
    assert api.get("/api/alerts/export").json() == exported
    assert exported["alerts"][0]["condition"] == {"kind": "bb_break_upper", "length": 20, "std": 2.0}


def test_an_import_with_a_bad_alert_imports_none_and_names_each(api):
    alerts = [body(), body(symbol="NOPE"), body(condition={"kind": "crossing_up", "level": "x"})]
    response = api.post("/api/alerts/import", {"alerts": alerts}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "alerts[1].symbol", "alerts[2].condition.level"}
    assert response.json()["detail"] == "2 of the 3 alerts are not valid; none was imported."
    assert not Alert.objects.exists()


@pytest.mark.parametrize("sent", [{}, {"alerts": [body()], "mode": "replace"}, [body()]])
def test_an_import_takes_an_object_with_alerts_only(api, sent):
    response = api.post("/api/alerts/import", sent, format="json")
    assert response.status_code == 400 and not Alert.objects.exists()


# --- authentication ------------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/alerts"),
    ("post", "/api/alerts"),
    ("get", "/api/alerts/1"),
    ("put", "/api/alerts/1"),
    ("patch", "/api/alerts/1"),
    ("delete", "/api/alerts/1"),
    ("get", "/api/alerts/1/history"),
    ("post", "/api/alerts/1/pause"),
    ("post", "/api/alerts/1/resume"),
    ("post", "/api/alerts/bulk"),
    ("get", "/api/alerts/export"),
    ("post", "/api/alerts/import"),
    ("get", "/api/notifications"),
    ("post", "/api/notifications/read"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_callers_are_told_to_authenticate(db, method, path):
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_jwt_reaches_the_users_alerts(user):
    user.set_password("a long password for tokens")
    user.save()
    client = APIClient()
    tokens = client.post("/api/auth/token/", {"username": "trader", "password": "a long password for tokens"})
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    assert client.post("/api/alerts", body(), format="json").status_code == 201
    assert client.get("/api/alerts").json()["count"] == 1


def test_a_session_write_needs_its_csrf_token(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/alerts").status_code == 200
    assert client.post("/api/alerts", body(), format="json").status_code == 403
