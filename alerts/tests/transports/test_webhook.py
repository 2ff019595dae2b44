"""Webhooks through a local receiver: the Standard Webhooks signature checked by an implementation of
its own (hmac + base64), the body and its content type, and each answer sorted into delivered,
permanent and transient."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook

from alerts.models import Channel
from alerts.tests.webhook_receiver import Answer
from alerts.transports import Message, TransportError, transport_for
from alerts.transports.webhook import TRANSPORT, WebhookTransport, webhook_secret_new, webhook_secret_refusal

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789").decode()
PLACEHOLDERS = {"symbol": "BTC", "price": 100012.5, "level": 100000, "condition": "price crossing 100000"}
MESSAGE = Message(
    subject="BTC alert",
    text="BTC: price crossing 100000 (1m) at 100012.5",
    placeholders=PLACEHOLDERS,
    webhook_id="msg_42",
)


def channel(receiver, body: str = "", secret: str = SECRET) -> Channel:
    return Channel(kind="webhook", url=receiver.url + "hooks/alerts", secret=secret, body=body)


def signature_valid(secret: str, headers: dict, body: bytes) -> bool:
    """Standard Webhooks' check written out: v1 = base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(value, expected)
        for version, _, value in (s.partition(",") for s in headers["webhook-signature"].split(" "))
    )


def test_the_transport_of_webhook_channels_is_this_one():
    assert transport_for("webhook") is TRANSPORT


def test_the_signature_verifies_with_an_independent_implementation(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    (received,) = webhook_receiver.requests
    assert received.method == "POST"
    assert received.path == "/hooks/alerts"
    assert received.headers["webhook-id"] == "msg_42"
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 5
    assert signature_valid(SECRET, received.headers, received.body)


def test_a_signature_made_with_another_secret_does_not_verify(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver, secret=webhook_secret_new()), MESSAGE)
    (received,) = webhook_receiver.requests
    assert not signature_valid(SECRET, received.headers, received.body)


def test_the_standardwebhooks_package_verifies_it_too(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver, body='{"symbol": "{{symbol}}"}'), MESSAGE)
    (received,) = webhook_receiver.requests
    assert Webhook(SECRET).verify(received.body, received.headers) == {"symbol": "BTC"}


def test_the_webhook_id_is_the_same_on_every_retry(webhook_receiver):
    webhook_receiver.script(500, 500, 200)
    for _ in range(2):
        with pytest.raises(TransportError) as raised:
            TRANSPORT.send(channel(webhook_receiver), MESSAGE)
        assert not raised.value.permanent
    TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    received = webhook_receiver.requests
    assert [r.status for r in received] == [500, 500, 200]
    assert {r.headers["webhook-id"] for r in received} == {"msg_42"}
    assert all(signature_valid(SECRET, r.headers, r.body) for r in received)


def test_a_json_template_is_rendered_and_sent_as_application_json(webhook_receiver):
    body = '{"text": "{{symbol}} at {{price}}", "price": {{price}}, "unknown": "{{rsi}}"}'
    TRANSPORT.send(channel(webhook_receiver, body=body), MESSAGE)
    (received,) = webhook_receiver.requests
    assert received.headers["content-type"] == "application/json"
    assert received.json() == {"text": "BTC at 100012.5", "price": 100012.5, "unknown": ""}


def test_a_text_template_is_sent_as_plain_text(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver, body="{{symbol}} crossed {{level}} ✓"), MESSAGE)
    (received,) = webhook_receiver.requests
    assert received.headers["content-type"] == "text/plain; charset=utf-8"
    assert received.text == "BTC crossed 100000 ✓"


def test_without_a_template_the_message_text_is_sent(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    assert webhook_receiver.requests[0].text == MESSAGE.text


def test_a_template_that_renders_to_nothing_sends_the_message_text(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver, body="{{note}}"), MESSAGE)
    assert webhook_receiver.requests[0].text == MESSAGE.text


def test_410_gone_is_a_permanent_error(webhook_receiver):
    webhook_receiver.script(410)
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    assert raised.value.permanent
    assert raised.value.message == "HTTP 410 Gone (the receiver asks to be sent no more)"


def test_500_is_a_transient_error_quoting_the_answer(webhook_receiver):
    webhook_receiver.script(Answer(500, body=b"database\n is down"))
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.retry_after is None
    assert raised.value.message == "HTTP 500 Internal Server Error: database is down"


@pytest.mark.parametrize("status", [404, 301, 400])
def test_other_statuses_are_transient_errors(webhook_receiver, status):
    webhook_receiver.script(status)
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message.startswith(f"HTTP {status} ")


def test_429_with_retry_after_surfaces_the_wait(webhook_receiver):
    webhook_receiver.script(Answer(429, {"Retry-After": "7"}))
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.retry_after == 7.0


def test_503_with_a_retry_after_date_surfaces_the_seconds_until_then(webhook_receiver):
    from email.utils import formatdate

    webhook_receiver.script(Answer(503, {"Retry-After": formatdate(time.time() + 120, usegmt=True)}))
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(channel(webhook_receiver), MESSAGE)
    assert 115 <= raised.value.retry_after <= 120


def test_a_slow_receiver_is_a_transient_timeout(webhook_receiver):
    webhook_receiver.delay = 1.0
    with pytest.raises(TransportError) as raised:
        WebhookTransport(timeout=0.2).send(channel(webhook_receiver), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message == "no answer from 127.0.0.1 within 0.2 s"


def test_the_default_timeout_is_ten_seconds():
    assert TRANSPORT.timeout == 10.0


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://10.0.0.1/", "http://169.254.169.254/", "http://[::1]/"])
def test_a_private_target_is_refused_permanently(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(Channel(kind="webhook", url=url, secret=SECRET), MESSAGE)
    assert raised.value.permanent
    assert "webhooks may only go to public addresses" in raised.value.message


def test_a_test_message_without_a_delivery_gets_an_id_of_its_own(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver), Message(subject="Test", text="It works"))
    headers = webhook_receiver.requests[0].headers
    assert headers["webhook-id"].startswith("msg_test_")
    assert signature_valid(SECRET, headers, webhook_receiver.requests[0].body)


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_***"])
def test_a_secret_that_cannot_sign_is_a_permanent_error(webhook_receiver, secret):
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(channel(webhook_receiver, secret=secret), MESSAGE)
    assert raised.value.permanent
    assert webhook_receiver.requests == []


# --- secrets --------------------------------------------------------------------------------------


def test_a_new_secret_is_whsec_and_24_random_bytes():
    secret, other = webhook_secret_new(), webhook_secret_new()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 24
    assert secret != other
    assert webhook_secret_refusal(secret) is None


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("abc", " (leave it out to have one generated)"),
        ("whsec_not base64!", "; the part after whsec_ is not base64"),
        ("whsec_" + base64.b64encode(b"12345678").decode(), "; this one has 8"),
    ],
)
def test_secrets_that_cannot_sign_are_refused_saying_what_is_allowed(secret, why):
    assert webhook_secret_refusal(secret) == ("must be whsec_ followed by the base64 of at least 16 random bytes" + why)


def test_the_signed_body_is_the_one_sent_byte_for_byte(webhook_receiver):
    TRANSPORT.send(channel(webhook_receiver, body='{"note": "é \\u00e9 {{symbol}}"}'), MESSAGE)
    received = webhook_receiver.requests[0]
    assert json.loads(received.body) == {"note": "é é BTC"}
    assert signature_valid(SECRET, received.headers, received.body)
