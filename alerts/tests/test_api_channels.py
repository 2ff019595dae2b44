"""The channels API: the answer's shape for each kind, the webhook secret in the create answer only,
every bad input a 400 naming its field, another user's channel a 404 on every method, PATCH, DELETE,
the test message through the one transport choke point and its throttle, the list's pages and query
count, and the Telegram connect code."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from alerts import transports
from alerts.channels import channel_create
from alerts.models import Channel
from alerts.transports import TransportError

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
URL = "/api/notifications/channels"


@pytest.fixture(autouse=True)
def private_webhooks_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


def email(user, address: str = "me@example.com") -> Channel:
    return channel_create(user=user, data={"kind": "email", "address": address})


def test_creating_answers_201_with_the_channel(api):
    response = api.post(URL, {"kind": "email", "address": "me@example.com", "name": "inbox"}, format="json")
    assert response.status_code == 201
    answer = response.json()
    assert response["Location"] == f"{URL}/{answer['id']}"
    assert ISO_MS.match(answer.pop("created_at"))
    assert answer == {
        "id": Channel.objects.get().pk,
        "kind": "email",
        "name": "inbox",
        "address": "me@example.com",
        "enabled": True,
        "disabled_reason": "",
        "quiet_hours": None,
    }


@pytest.mark.parametrize(
    ("sent", "fields"),
    [
        ({"kind": "telegram", "chat_id": "-100123"}, {"chat_id"}),
        ({"kind": "apprise", "url": "ntfy://my-alerts"}, {"url"}),
        ({"kind": "webhook", "url": "http://127.0.0.1:9/hook", "body": "{{symbol}}"}, {"url", "body", "secret"}),
    ],
)
def test_each_kind_answers_with_its_own_fields(api, sent, fields):
    answer = api.post(URL, sent, format="json").json()
    common = {"id", "kind", "name", "enabled", "disabled_reason", "quiet_hours", "created_at"}
    assert set(answer) == common | fields


def test_the_webhook_secret_is_shown_only_in_the_create_answer(api):
    created = api.post(URL, {"kind": "webhook", "url": "http://127.0.0.1:9/hook"}, format="json").json()
    assert created["secret"] == Channel.objects.get().secret and created["secret"].startswith("whsec_")
    path = f"{URL}/{created['id']}"
    assert "secret" not in api.get(path).json()
    assert "secret" not in api.patch(path, {"name": "ci"}, format="json").json()
    assert all("secret" not in c for c in api.get(URL).json()["results"])


def test_quiet_hours_are_answered_as_given(api):
    quiet = {"start": "22:00", "end": "07:30", "timezone": "America/New_York"}
    sent = {"kind": "telegram", "chat_id": "42", "quiet_hours": quiet}
    assert api.post(URL, sent, format="json").json()["quiet_hours"] == quiet


# Each bad input of the issue, and the field its 400 names.
BAD = {
    "malformed email": ({"kind": "email", "address": "me@"}, "address"),
    "non-numeric chat id": ({"kind": "telegram", "chat_id": "twelve"}, "chat_id"),
    "ftp url": ({"kind": "webhook", "url": "ftp://example.com/hook"}, "url"),
    "template that renders to nothing": ({"kind": "webhook", "url": "http://127.0.0.1:9/", "body": " "}, "body"),
    "unknown kind": ({"kind": "pigeon"}, "kind"),
    "unknown field": ({"kind": "email", "address": "me@example.com", "cc": "x"}, "cc"),
    "quiet hours on a webhook": (
        {"kind": "webhook", "url": "http://127.0.0.1:9/", "quiet_hours": {"start": "1:00"}},
        "quiet_hours",
    ),
    "huge name": ({"kind": "email", "address": "me@example.com", "name": "n" * 10_000}, "name"),
}


@pytest.mark.parametrize(("sent", "field"), BAD.values(), ids=BAD.keys())
def test_bad_input_is_a_400_naming_the_field(api, sent, field):
    response = api.post(URL, sent, format="json")
    assert response.status_code == 400
    answer = response.json()
    assert field in answer and answer[field][0] and field in answer["detail"]
    assert Channel.objects.count() == 0


def test_a_private_webhook_url_is_a_400_naming_url(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = api.post(URL, {"kind": "webhook", "url": "http://192.168.1.10/hook"}, format="json")
    assert response.status_code == 400 and "url" in response.json()


def test_the_list_holds_the_users_channels_oldest_first(api, user, other):
    first, second = email(user), email(user, "you@example.com")
    email(other)
    answer = api.get(URL).json()
    assert answer["count"] == 2 and [c["id"] for c in answer["results"]] == [first.pk, second.pk]


def test_the_list_is_paginated_with_a_fixed_query_count(api, user, django_assert_num_queries):
    for n in range(7):
        email(user, f"me{n}@example.com")
    with django_assert_num_queries(2):  # the count, the page
        page = api.get(URL, {"limit": 3, "offset": 3}).json()
    assert page["count"] == 7 and len(page["results"]) == 3 and page["next"] and page["previous"]


def test_patch_changes_the_fields_given(api, user):
    channel = email(user)
    answer = api.patch(f"{URL}/{channel.pk}", {"address": "new@example.com"}, format="json").json()
    assert answer["address"] == "new@example.com"
    channel.refresh_from_db()
    assert channel.address == "new@example.com"


def test_patch_enabled_clears_the_disabled_reason(api, user):
    channel = email(user)
    Channel.objects.filter(pk=channel.pk).update(enabled=False, disabled_reason="550 5.1.1 no such user")
    answer = api.patch(f"{URL}/{channel.pk}", {"enabled": True}, format="json").json()
    assert (answer["enabled"], answer["disabled_reason"]) == (True, "")


def test_patch_with_a_bad_field_is_a_400_naming_it(api, user):
    channel = email(user)
    response = api.patch(f"{URL}/{channel.pk}", {"address": "nope", "kind": "webhook"}, format="json")
    assert response.status_code == 400 and "kind" in response.json()
    response = api.patch(f"{URL}/{channel.pk}", {"address": "nope"}, format="json")
    assert response.status_code == 400 and "address" in response.json()


def test_delete_answers_204_and_deletes(api, user):
    channel = email(user)
    assert api.delete(f"{URL}/{channel.pk}").status_code == 204
    assert not Channel.objects.exists()


@pytest.mark.parametrize(
    ("method", "suffix", "sent"),
    [("get", "", None), ("patch", "", {"name": "mine"}), ("delete", "", None), ("post", "/test", None)],
)
def test_another_users_channel_is_404_on_every_method(api, other, method, suffix, sent, monkeypatch):
    monkeypatch.setattr(transports, "transport_for", lambda kind: pytest.fail("sent to another user's channel"))
    theirs = email(other)
    response = getattr(api, method)(f"{URL}/{theirs.pk}{suffix}", sent, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == ""


# --- the test message ------------------------------------------------------------------------------


class FakeTransport:
    def __init__(self, error: Exception | None = None):
        self.sent, self.error = [], error

    def send(self, channel, message) -> None:
        self.sent.append(channel.pk)
        if self.error:
            raise self.error


def test_the_test_message_answers_ok(api, user, monkeypatch):
    transport = FakeTransport()
    monkeypatch.setattr(transports, "transport_for", lambda kind: transport)
    channel = email(user)
    answer = api.post(f"{URL}/{channel.pk}/test").json()
    assert answer["ok"] is True and answer["error"] is None and answer["permanent"] is False
    assert isinstance(answer["latency_ms"], int) and transport.sent == [channel.pk]


def test_a_failing_test_message_answers_the_error_and_keeps_the_channel_enabled(api, user, monkeypatch):
    failing = FakeTransport(TransportError("HTTP 410 Gone", permanent=True))
    monkeypatch.setattr(transports, "transport_for", lambda kind: failing)
    channel = email(user)
    response = api.post(f"{URL}/{channel.pk}/test")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("ok", "error", "permanent")} == {
        "ok": False,
        "error": "HTTP 410 Gone",
        "permanent": True,
    }
    channel.refresh_from_db()
    assert channel.enabled


def test_the_test_message_has_its_own_throttle(api, user, monkeypatch):
    monkeypatch.setattr(transports, "transport_for", lambda kind: FakeTransport())
    rates = {"anon": None, "user": None, "login": None, "ai_chat": None, "backtest": None, "notify_test": "2/min"}
    monkeypatch.setattr("rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES", rates)
    channel = email(user)
    codes = [api.post(f"{URL}/{channel.pk}/test").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api.get(URL).status_code == 200


def test_anonymous_callers_are_refused(db):
    assert APIClient().get(URL).status_code == 401


# --- Telegram connect ------------------------------------------------------------------------------


def test_connect_without_a_bot_token_is_a_503_saying_so(api, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    response = api.post("/api/notifications/telegram/connect")
    assert response.status_code == 503 and "TELEGRAM_BOT_TOKEN" in response.json()["detail"]


def test_connect_answers_the_code_and_link(api, user, settings, monkeypatch):
    settings.TELEGRAM_BOT_TOKEN = "123:abc"
    made = {"code": "c0de", "link": "https://t.me/scalpbot?start=c0de", "expires_at": "2026-12-07T07:00:00.000Z"}
    monkeypatch.setattr("alerts.telegram_connect.connect_code_create", lambda *, user: made)
    response = api.post("/api/notifications/telegram/connect")
    assert response.status_code == 201 and response.json() == made
