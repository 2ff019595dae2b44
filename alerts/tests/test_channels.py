"""Channel writes (alerts.channels): each kind's fields checked and every refusal naming its field, a
webhook's generated secret, quiet hours, edits, and the test message's answer through the one
transport choke point."""

from __future__ import annotations

from datetime import time

import pytest

from alerts import transports
from alerts.channels import (
    ChannelInvalid,
    channel_create,
    channel_delete,
    channel_test,
    channel_update,
    webhook_secret_refusal,
)
from alerts.models import Channel
from alerts.transports import Paced, TransportError

pytestmark = pytest.mark.django_db
QUIET = {"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"}


@pytest.fixture(autouse=True)
def private_webhooks_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True


def refused(user, data: dict) -> dict[str, list[str]]:
    with pytest.raises(ChannelInvalid) as raised:
        channel_create(user=user, data=data)
    return raised.value.errors


def test_an_email_channel_is_created_enabled(user):
    channel = channel_create(user=user, data={"kind": "email", "address": "me@example.com", "name": "inbox"})
    assert (channel.kind, channel.address, channel.name, channel.enabled) == ("email", "me@example.com", "inbox", True)


def test_a_malformed_email_address_is_refused(user):
    assert list(refused(user, {"kind": "email", "address": "not an address"})) == ["address"]


def test_a_non_numeric_chat_id_is_refused(user):
    assert list(refused(user, {"kind": "telegram", "chat_id": "my chat"})) == ["chat_id"]


@pytest.mark.parametrize("chat_id", ["123456789", "-1001234567890", "@alerts_channel", 123456789])
def test_numeric_chat_ids_and_channel_names_are_taken(user, chat_id):
    assert channel_create(user=user, data={"kind": "telegram", "chat_id": chat_id}).chat_id == str(chat_id)


def test_an_ftp_webhook_url_is_refused(user):
    assert list(refused(user, {"kind": "webhook", "url": "ftp://example.com/hook"})) == ["url"]


def test_a_private_webhook_url_is_refused_unless_allowed(user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert list(refused(user, {"kind": "webhook", "url": "http://127.0.0.1:8000/hook"})) == ["url"]
    assert list(refused(user, {"kind": "webhook", "url": "http://10.1.2.3/hook"})) == ["url"]


def test_a_webhook_without_a_secret_gets_a_valid_one(user):
    channel = channel_create(user=user, data={"kind": "webhook", "url": "http://127.0.0.1:9/hook"})
    assert channel.secret.startswith("whsec_") and webhook_secret_refusal(channel.secret) is None


def test_a_given_secret_must_be_whsec_and_16_bytes_or_more(user):
    short = "whsec_" + "QUJD"  # 3 bytes
    assert list(refused(user, {"kind": "webhook", "url": "http://127.0.0.1:9/", "secret": short})) == ["secret"]
    assert list(refused(user, {"kind": "webhook", "url": "http://127.0.0.1:9/", "secret": "plain"})) == ["secret"]


def test_a_body_that_renders_to_nothing_is_refused(user):
    errors = refused(user, {"kind": "webhook", "url": "http://127.0.0.1:9/", "body": "  \n "})
    assert errors["body"][0].startswith("Renders to nothing")


def test_a_body_with_an_unknown_placeholder_is_refused_naming_it(user):
    errors = refused(user, {"kind": "webhook", "url": "http://127.0.0.1:9/", "body": '{"p": {{prize}}}'})
    assert "{{prize}}" in errors["body"][0]


def test_an_apprise_url_apprise_cannot_read_is_refused(user):
    assert list(refused(user, {"kind": "apprise", "url": "nothing://at/all"})) == ["url"]


def test_quiet_hours_are_stored_with_their_time_zone(user):
    channel = channel_create(user=user, data={"kind": "email", "address": "me@example.com", "quiet_hours": QUIET})
    assert (channel.quiet_start, channel.quiet_end, channel.quiet_timezone) == (time(22), time(7), "Europe/Paris")


@pytest.mark.parametrize(
    "quiet_hours",
    [
        {**QUIET, "timezone": "Mars/Olympus"},
        {**QUIET, "timezone": "../../etc/passwd"},
        {**QUIET, "start": "24:00"},
        {**QUIET, "end": "7:00"},
        {**QUIET, "end": "22:00"},
        {"start": "22:00", "end": "07:00"},
        "22:00-07:00",
    ],
)
def test_bad_quiet_hours_are_refused(user, quiet_hours):
    assert list(refused(user, {"kind": "email", "address": "me@example.com", "quiet_hours": quiet_hours})) == [
        "quiet_hours"
    ]


def test_a_webhook_has_no_quiet_hours(user):
    errors = refused(user, {"kind": "webhook", "url": "http://127.0.0.1:9/", "quiet_hours": QUIET})
    assert list(errors) == ["quiet_hours"]


def test_unknown_fields_and_other_kinds_fields_are_refused_by_name(user):
    errors = refused(user, {"kind": "email", "address": "me@example.com", "colour": "red", "url": "http://x"})
    assert set(errors) == {"colour", "url"}
    assert "allowed for email channels" in errors["colour"][0]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "sms", "address": "me@example.com"}, "kind"),
        ({"address": "me@example.com"}, "kind"),
        ({"kind": "email"}, "address"),
        ({"kind": "email", "address": 12}, "address"),
        ({"kind": "email", "address": "me@example.com", "name": "x" * 101}, "name"),
        ({"kind": "email", "address": "me@example.com", "enabled": "yes"}, "enabled"),
        ({"kind": "webhook", "url": "http://127.0.0.1/" + "a" * 2000}, "url"),
        ({"kind": "webhook", "url": "http://127.0.0.1/", "body": "x" * 4001}, "body"),
        ({"kind": "email", "address": "me@example.com", "id": 3}, "id"),
    ],
)
def test_wrong_types_sizes_and_missing_fields_are_refused_by_name(user, data, field):
    assert field in refused(user, data)


def test_a_body_that_is_not_an_object_is_refused(user):
    assert list(refused(user, ["email"])) == ["non_field_errors"]


def test_an_edit_changes_only_the_fields_given(user):
    channel = channel_create(user=user, data={"kind": "email", "address": "me@example.com", "name": "inbox"})
    channel_update(channel=channel, data={"name": "work"})
    channel.refresh_from_db()
    assert (channel.name, channel.address) == ("work", "me@example.com")


def test_an_edit_cannot_change_the_kind(user):
    channel = channel_create(user=user, data={"kind": "email", "address": "me@example.com"})
    with pytest.raises(ChannelInvalid) as raised:
        channel_update(channel=channel, data={"kind": "telegram"})
    assert list(raised.value.errors) == ["kind"]


def test_enabling_a_disabled_channel_clears_why_it_was(user):
    channel = channel_create(user=user, data={"kind": "email", "address": "me@example.com"})
    Channel.objects.filter(pk=channel.pk).update(enabled=False, disabled_reason="550 no such user")
    channel.refresh_from_db()
    channel_update(channel=channel, data={"enabled": True})
    channel.refresh_from_db()
    assert (channel.enabled, channel.disabled_reason) == (True, "")


def test_deleting_a_channel_takes_it_off_its_alerts(user):
    from alerts.services import alert_create

    channel = channel_create(user=user, data={"kind": "email", "address": "me@example.com"})
    alert = alert_create(
        user=user, data={"symbol": "BTC", "condition": {"kind": "price_above", "level": 1}, "channels": [channel.pk]}
    )
    channel_delete(channel=channel)
    assert list(alert.channels.all()) == []


# --- the test message ------------------------------------------------------------------------------


class FakeTransport:
    """Records what it is asked to send, and fails as told."""

    def __init__(self, error: Exception | None = None):
        self.sent, self.error = [], error

    def send(self, channel, message) -> None:
        self.sent.append((channel.pk, message))
        if self.error:
            raise self.error


@pytest.fixture
def fake(monkeypatch):
    def install(error: Exception | None = None) -> FakeTransport:
        transport = FakeTransport(error)
        monkeypatch.setattr(transports, "transport_for", lambda kind: transport)
        return transport

    return install


def test_a_test_message_that_is_accepted_answers_ok(user, fake):
    transport = fake()
    channel = channel_create(user=user, data={"kind": "email", "address": "me@example.com"})
    answer = channel_test(channel=channel)
    assert {k: v for k, v in answer.items() if k != "latency_ms"} == {"ok": True, "error": None, "permanent": False}
    assert isinstance(answer["latency_ms"], int) and answer["latency_ms"] >= 0
    assert [pk for pk, _ in transport.sent] == [channel.pk]


def test_a_permanent_failure_is_told_and_does_not_disable_the_channel(user, fake):
    fake(TransportError("Forbidden: bot was blocked by the user", permanent=True))
    channel = channel_create(user=user, data={"kind": "telegram", "chat_id": "42"})
    answer = channel_test(channel=channel)
    assert (answer["ok"], answer["error"], answer["permanent"]) == (
        False,
        "Forbidden: bot was blocked by the user",
        True,
    )
    channel.refresh_from_db()
    assert channel.enabled and channel.disabled_reason == ""


def test_a_paced_test_message_says_when_to_try_again(user, fake):
    fake(Paced(3.0))
    channel = channel_create(user=user, data={"kind": "telegram", "chat_id": "42"})
    answer = channel_test(channel=channel)
    assert (answer["ok"], answer["permanent"]) == (False, False)
    assert "3 s" in answer["error"]
