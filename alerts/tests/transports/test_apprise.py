"""Apprise through its json:// scheme to the local webhook receiver: the notification as the service
gets it, every failure transient, and the URLs Apprise cannot read or that point inside refused."""

from __future__ import annotations

import pytest

from alerts.models import Channel
from alerts.tests.webhook_receiver import Answer
from alerts.transports import Message, TransportError, transport_for
from alerts.transports.apprise import TRANSPORT, apprise_url_refusal

MESSAGE = Message(subject="BTC alert", text="BTC: price crossing 100000 (1m) at 100012.5", webhook_id="msg_5")


def service(receiver) -> Channel:
    return Channel(kind="apprise", url=f"json://127.0.0.1:{receiver.port}/notify")


def test_the_transport_of_apprise_channels_is_this_one():
    assert transport_for("apprise") is TRANSPORT


def test_the_notification_reaches_the_service_with_title_and_body(webhook_receiver):
    TRANSPORT.send(service(webhook_receiver), MESSAGE)
    (received,) = webhook_receiver.requests
    assert received.method == "POST"
    assert received.path == "/notify"
    assert received.headers["content-type"] == "application/json"
    assert received.json()["title"] == "BTC alert"
    assert received.json()["message"] == "BTC: price crossing 100000 (1m) at 100012.5"


@pytest.mark.parametrize("status", [500, 410, 403])
def test_a_refusal_by_the_service_is_transient(webhook_receiver, status):
    webhook_receiver.script(Answer(status))
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(service(webhook_receiver), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message.startswith("Apprise: ")
    assert str(status) in raised.value.message


def test_an_unreachable_service_is_transient(settings):
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(Channel(kind="apprise", url="json://127.0.0.1:9/notify"), MESSAGE)
    assert not raised.value.permanent
    assert "Connection error" in raised.value.message


@pytest.mark.parametrize("url", ["discord://1234567/abcdefg", "ntfy://alerts-topic", "json://93.184.216.34/hook"])
def test_urls_apprise_reads_are_accepted(url):
    assert apprise_url_refusal(url) is None


@pytest.mark.parametrize("url", ["", "not a url", "https//missing-colon", "nosuchservice://x", None])
def test_urls_apprise_cannot_read_are_refused_saying_what_is_allowed(url):
    assert apprise_url_refusal(url) == (
        "must be an Apprise URL such as discord://webhook_id/webhook_token or ntfy://topic"
    )


@pytest.mark.parametrize("url", ["json://127.0.0.1:8000/x", "xml://10.0.0.5/x", "forms://localhost/x"])
def test_urls_to_private_addresses_are_refused(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert "may only go to public addresses" in apprise_url_refusal(url)


def test_private_addresses_are_accepted_when_webhooks_may_go_there(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert apprise_url_refusal("json://127.0.0.1:8000/x") is None
