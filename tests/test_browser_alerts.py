"""Alerts in a real browser: an alert created on the form rings the bell live when it fires, the
manager's row follows, and a click on the coin chart sets a price alert."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import transaction

from alerts.models import Alert, AlertEvent, Notification
from alerts.notifications import notifications_send_on_commit
from tests.test_browser import CHROMIUM, page, server  # noqa: F401 (the fixtures)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)
# A notification sent from this test process reaches the server's sockets through Redis only: the
# embedded mode's in-memory channel layer lives inside the server process.
needs_shared_layer = pytest.mark.skipif(not settings.REDIS_URL, reason="needs the Redis channel layer (REDIS_URL)")

PASSWORD = "a long pass phrase"


@pytest.fixture
def trader(seeded_market, django_user_model):
    """A trader (created before the browser starts: see ``page``)."""
    return django_user_model.objects.create_user("trader", password=PASSWORD, email="t@example.com")


def in_thread(function, *args):
    """Run ORM code beside Playwright, whose event loop makes Django refuse ORM calls on this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def log_in(tab, username: str) -> None:
    tab.goto(tab.base + "/accounts/login/?next=/alerts")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_url(re.compile(r"/alerts$"))


def fire(alert_id: int, price: float) -> None:
    """What the engine does when an alert fires: an event, a notification, sent after the commit."""
    alert = Alert.objects.select_related("coin").get(pk=alert_id)
    now = datetime.now(UTC)
    with transaction.atomic():
        event = AlertEvent.objects.create(
            alert=alert, key=f"t:{int(now.timestamp() * 1000)}", fired_at=now, price=price
        )
        Alert.objects.filter(pk=alert_id).update(last_fired_at=now, fire_count=alert.fire_count + 1)
        notification = Notification.objects.create(
            user=alert.user, alert=alert, event=event, symbol=alert.coin.symbol,
            message=f"{alert.coin.symbol} crossed up at {price}", price=price, fired_at=now,
        )  # fmt: skip
        notifications_send_on_commit([notification])
    transaction.get_connection().close()


# The lowest and highest prices the coin chart holds.
CHART_RANGE = """() => {
  const bars = document.querySelector("#chart").scalpaiboardChart.candles.data();
  const prices = bars.flatMap((bar) => [bar.low, bar.high]);
  return [Math.min(...prices), Math.max(...prices)];
}"""


def alert_of(username: str) -> dict:
    alert = Alert.objects.get(user__username=username)
    return {"id": alert.pk, "condition": alert.condition, "frequency": alert.frequency, "symbol": alert.coin.symbol}


@needs_shared_layer
def test_an_alert_created_on_the_form_rings_the_bell_live_when_it_fires(trader, page):  # noqa: F811
    log_in(page, "trader")
    page.click("#new-alert")
    page.fill("input[name=symbol]", "BTC")
    page.select_option("select[name=kind]", "crossing_up")  # the parameters follow the kind (HTMX)
    page.wait_for_selector("#condition-params .param-kind >> text=Crossing up")
    page.fill("input[name=level]", "95000")
    page.check("input[name=frequency][value=once_per_bar]")
    page.click("#save-alert")
    page.wait_for_url(re.compile(r"/alerts/\d+$"))
    alert = in_thread(alert_of, "trader")
    assert alert["condition"] == {"kind": "crossing_up", "level": 95000.0} and alert["frequency"] == "once_per_bar"

    page.wait_for_selector("#bell[data-live]")  # the page follows notifications over /ws
    assert page.is_hidden("#bell-count")
    page.evaluate("window.__sameDocument = true")
    in_thread(fire, alert["id"], 95012.5)

    page.wait_for_selector("#bell-count:not([hidden]) >> text=1")
    page.wait_for_selector(".toast >> text=BTC crossed up at 95012.5")
    page.wait_for_selector("#alert-history tr[data-event]")  # the history follows too
    assert page.text_content("#fire-count").strip() == "1 time"
    assert page.evaluate("window.__sameDocument") is True  # no reload

    page.click("#bell-button")
    page.wait_for_selector("#bell-list .notification.unread >> text=BTC crossed up at 95012.5")
    page.click("#bell-read-all")
    page.wait_for_selector("#bell-count", state="hidden")
    page.wait_for_selector("#bell-list .notification:not(.unread)")


@needs_shared_layer
def test_the_managers_row_follows_a_firing_without_a_reload(trader, page):  # noqa: F811
    log_in(page, "trader")
    page.goto(page.base + "/alerts/new?symbol=ETH&kind=price_above&level=1")
    page.click("#save-alert")
    page.wait_for_url(re.compile(r"/alerts/\d+$"))
    alert = in_thread(alert_of, "trader")
    page.goto(page.base + "/alerts")
    row = f"#alert-{alert['id']}"
    page.wait_for_selector("#bell[data-live]")
    assert page.text_content(f"{row} td.col-count").strip() == "0"
    page.check(f"{row} input[name=ids]")
    in_thread(fire, alert["id"], 3001.0)
    page.wait_for_function("row => document.querySelector(row + ' td.col-count').textContent.trim() === '1'", arg=row)
    assert page.is_checked(f"{row} input[name=ids]")  # the refreshed row keeps its tick
    assert page.text_content("#bulk-count") == "1 selected"


def test_a_click_on_the_coin_chart_sets_a_crossing_alert_at_that_price(trader, page):  # noqa: F811
    log_in(page, "trader")
    page.goto(page.base + "/coins/BTC")
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.loaded) > 100")
    box = page.locator("#chart").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    page.wait_for_selector("#price-alert:not([hidden])")
    level = float(page.input_value("#price-alert input[name=level]"))
    low, high = page.evaluate(CHART_RANGE)
    assert low * 0.9 < level < high * 1.1, (low, level, high)  # a price from the chart's own scale
    page.click("#price-alert button[type=submit]")
    page.wait_for_selector("#price-alert-result >> text=Alert set: BTC crosses")
    alert = in_thread(alert_of, "trader")
    assert alert["condition"] == {"kind": "crossing", "level": level} and alert["symbol"] == "BTC"
