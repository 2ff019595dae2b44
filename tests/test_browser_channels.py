"""Settings → Notifications in a real browser on a real server: a webhook added on the page shows its
secret once, its Test reaches a local receiver (signed, verified here independently) and says "sent",
and a delivery written to the database appears in the live log without a reload."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from alerts.models import AlertEvent, Channel, Delivery
from alerts.services import alert_create
from alerts.tests.webhook_receiver import WebhookReceiver
from conftest import TEST_PROFILES
from markets.services import coins_seed
from tests.processes import processes
from tests.test_browser import CHROMIUM, page  # noqa: F401 (the fixture)
from tests.test_browser_alerts import PASSWORD, in_thread

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)


@pytest.fixture
def server(transactional_db, tmp_path):
    """Daphne alone (no feed: these pages need none), allowed to send webhooks to this machine."""
    coins_seed(profiles=TEST_PROFILES)
    with processes(tmp_path) as group:
        yield group.daphne(FEED_EMBEDDED="false", WEBHOOK_ALLOW_PRIVATE="true")


@pytest.fixture
def trader(server, django_user_model):
    """A trader (created before the browser starts: see ``page``)."""
    return django_user_model.objects.create_user("trader", password=PASSWORD, email="t@example.com")


@pytest.fixture
def receiver():
    with WebhookReceiver() as receiving:
        yield receiving


def log_in(tab, path: str) -> None:
    tab.goto(f"{tab.base}/accounts/login/?next={path}")
    tab.fill("input[name=username]", "trader")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_url(re.compile(re.escape(path) + "$"))


def test_a_webhook_shows_its_secret_once_and_its_test_reaches_the_receiver(trader, receiver, page):  # noqa: F811
    log_in(page, "/settings/notifications")
    page.wait_for_selector("#channels-empty")
    page.click("a.kind-tab[data-kind=webhook]")
    page.wait_for_selector("#add-webhook-form")
    page.fill("#add-webhook-form input[name=url]", receiver.url + "hook")
    page.fill("#add-webhook-form input[name=name]", "My receiver")
    page.click("#add-channel-button")

    page.wait_for_selector("#webhook-secret")
    secret = page.text_content("#secret-value").strip()
    assert secret == in_thread(lambda: Channel.objects.get(user__username="trader").secret)
    page.click("#copy-secret")  # copied, or where the clipboard is refused selected for Ctrl+C
    page.wait_for_selector("#copy-secret.copied")

    row = page.locator(".channel", has_text="My receiver")
    row.locator(".test-button").click()
    row.locator(".outcome.sent").wait_for()
    assert re.search(r"Sent in \d+ ms", row.locator(".test-result").text_content())
    (request,) = receiver.wait_for(1)
    assert request.path == "/hook"
    Webhook(secret).verify(request.body, request.headers, json_parse=False)  # signed with the secret shown

    page.reload()
    page.wait_for_selector(".channel >> text=My receiver")
    assert page.locator("#webhook-secret").count() == 0  # shown once only
    assert secret not in page.content()


def delivery_of(username: str) -> int:
    """A firing of a new alert of the user's, delivered to their channel: written as the worker would."""
    channel = Channel.objects.get(user__username=username)
    alert = alert_create(user=channel.user, data={"symbol": "BTC", "condition": {"kind": "price_above", "level": 1}})
    now = datetime.now(UTC)
    event = AlertEvent.objects.create(alert=alert, key="t:1", fired_at=now, price=97000.0)
    delivery = Delivery.objects.create(channel=channel, event=event, state="sent", attempts=1, latency_ms=321)
    return delivery.pk


@pytest.fixture
def channel(trader):
    """An email channel (created before the browser starts)."""
    return Channel.objects.create(user=trader, kind="email", address="t@example.com")


def test_a_new_delivery_appears_in_the_live_log_without_a_reload(channel, page):  # noqa: F811
    log_in(page, "/settings/notifications/deliveries")
    page.wait_for_selector("text=No deliveries yet.")
    page.select_option("select[name=state]", "sent")  # the live refresh keeps the filter
    page.wait_for_url(re.compile(r"state=sent"))
    page.wait_for_selector("text=No deliveries match these filters.")
    page.evaluate("window.__sameDocument = true")

    pk = in_thread(delivery_of, "trader")
    page.wait_for_selector(f"#delivery-{pk} .state-badge.state-sent", timeout=10_000)
    assert "321 ms" in page.text_content(f"#delivery-{pk}")
    assert page.evaluate("window.__sameDocument") is True
    assert page.input_value("select[name=state]") == "sent"
    assert "state=sent" in page.get_attribute("#delivery-log", "hx-get")
