"""Alerts in a real browser, with the alert engine running (in the server, or in a Celery worker on
the queue ``alerts`` in the full stack): an alert made on the form rings the bell live when it fires,
the manager's row follows a firing, and a click on the coin chart sets a price alert."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connections

from alerts.models import Alert
from alerts.services import alert_create, alerts_pause
from tests.processes import BIN, processes
from tests.test_browser import CHROMIUM, page  # noqa: F401 (the fixture)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)

PASSWORD = "a long pass phrase"


@pytest.fixture
def server(seeded_market, tmp_path):
    """Daphne with the feed and the alert engine: all in it (embedded), or run_feed and a Celery worker
    on the queue ``alerts`` beside it (full stack)."""
    with processes(tmp_path) as group:
        if settings.REDIS_URL:
            celery = (str(BIN / "celery"), "-A", "scalpaiboard", "worker", "--pool", "solo", "-Q", "alerts")
            group.start("worker", *celery)
            group.feed(FEED_EMBEDDED="false")
            yield group.daphne(FEED_EMBEDDED="false")
        else:
            yield group.daphne(FEED_EMBEDDED="true")


@pytest.fixture
def trader(seeded_market, django_user_model):
    """A trader (created before the browser starts: see ``page``)."""
    return django_user_model.objects.create_user("trader", password=PASSWORD, email="t@example.com")


def in_thread(function, *args):
    """Run ORM code beside Playwright, whose event loop makes Django refuse ORM calls on this thread;
    the thread's connection is closed after, so that the test database can be dropped."""

    def run():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def log_in(tab) -> None:
    tab.goto(tab.base + "/accounts/login/?next=/alerts")
    tab.fill("input[name=username]", "trader")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_url(re.compile(r"/alerts$"))


def alert_of(username: str) -> dict:
    alert = Alert.objects.get(user__username=username)
    return {"id": alert.pk, "condition": alert.condition, "frequency": alert.frequency, "symbol": alert.coin.symbol}


def test_an_alert_made_on_the_form_rings_the_bell_live_when_it_fires(trader, page):  # noqa: F811
    log_in(page)
    watcher = page.context.new_page()  # a tab open before the alert exists, never reloaded
    watcher.goto(page.base + "/alerts")
    watcher.wait_for_selector("#bell[data-live]")  # it follows notifications over /ws
    assert watcher.is_hidden("#bell-count")
    watcher.evaluate("window.__sameDocument = true")

    page.click("#new-alert")
    page.fill("input[name=symbol]", "BTC")
    page.select_option("select[name=kind]", "price_above")  # the parameters follow the kind (HTMX)
    page.wait_for_selector("#condition-params .param-kind >> text=Price above")
    page.fill("input[name=level]", "1")  # below any BTC price: it fires at the next update
    page.check("input[name=frequency][value=only_once]")
    page.click("#preview-button")
    page.wait_for_selector("#backtest-sentence >> text=Would have fired 1 time in 30 days")
    page.wait_for_function("() => document.querySelector('#backtest .mini-chart').dataset.markers === '1'")
    page.click("#save-alert")
    page.wait_for_url(re.compile(r"/alerts/\d+$"))
    alert = in_thread(alert_of, "trader")
    assert alert["condition"] == {"kind": "price_above", "level": 1.0} and alert["frequency"] == "only_once"

    watcher.wait_for_selector("#bell-count:not([hidden]) >> text=1", timeout=30_000)
    watcher.wait_for_selector(".toast >> text=BTC")
    assert watcher.evaluate("window.__sameDocument") is True  # no reload
    watcher.click("#bell-button")
    watcher.wait_for_selector("#bell-list .notification.unread")
    watcher.click("#bell-read-all")
    watcher.wait_for_selector("#bell-count", state="hidden")
    watcher.wait_for_selector("#bell-list .notification:not(.unread)")


@pytest.fixture
def paused_alert(trader):
    """An ETH alert that holds at every update, paused (created before the browser starts)."""
    alert = alert_create(user=trader, data={"symbol": "ETH", "condition": {"kind": "price_above", "level": 1}})
    alerts_pause(user=trader, ids=[alert.pk])
    return alert.pk


def test_the_managers_row_follows_a_firing_without_a_reload(paused_alert, page):  # noqa: F811
    log_in(page)
    row = f"#alert-{paused_alert}"
    page.wait_for_selector("#bell[data-live]")
    assert page.text_content(f"{row} .status").strip() == "Paused"
    page.evaluate("window.__sameDocument = true")
    page.check(f"{row} input[name=ids]")
    assert page.text_content("#bulk-count") == "1 selected"
    page.click("#bulk-form button[value=resume]")
    page.wait_for_selector(".banner >> text=Resumed 1 alert.")

    page.wait_for_selector(f"{row} .status >> text=Triggered", timeout=30_000)  # fired once, then spent
    assert page.text_content(f"{row} td.col-count").strip() == "1"
    assert page.evaluate("window.__sameDocument") is True


# The lowest and highest prices the coin chart holds.
CHART_RANGE = """() => {
  const bars = document.querySelector("#chart").scalpaiboardChart.candles.data();
  const prices = bars.flatMap((bar) => [bar.low, bar.high]);
  return [Math.min(...prices), Math.max(...prices)];
}"""


# The price at a height of the coin chart.
PRICE_AT = """(y) => document.querySelector("#chart").scalpaiboardChart.candles.coordinateToPrice(y)"""


def test_a_click_on_the_coin_chart_then_a_drag_of_its_line_sets_a_crossing_alert(trader, page):  # noqa: F811
    log_in(page)
    page.goto(page.base + "/coins/BTC")
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.loaded) > 100")
    box = page.locator("#chart").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 3
    page.mouse.click(x, y)
    page.wait_for_selector("#price-alert:not([hidden])")
    clicked = float(page.input_value("#price-alert input[name=level]"))
    low, high = page.evaluate(CHART_RANGE)
    assert low * 0.9 < clicked < high * 1.1, (low, clicked, high)  # a price from the chart's own scale

    page.mouse.move(x - 100, y)  # grab the dashed line and drag it 60 px down
    page.mouse.down()
    page.mouse.move(x - 100, y + 30)
    page.mouse.move(x - 100, y + 60)
    page.mouse.up()
    dragged = float(page.input_value("#price-alert input[name=level]"))
    expected = page.evaluate(PRICE_AT, y + 60 - box["y"])
    assert dragged < clicked and abs(dragged - expected) <= abs(clicked - expected) * 0.05, (clicked, dragged, expected)
    assert page.is_visible("#price-alert")  # the drag's end placed no new line

    page.click("#price-alert button[type=submit]")
    page.wait_for_selector("#price-alert-result >> text=Alert set: BTC crosses")
    alert = in_thread(alert_of, "trader")
    assert alert["condition"] == {"kind": "crossing", "level": dragged} and alert["symbol"] == "BTC"
