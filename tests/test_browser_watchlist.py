"""Watchlists in a real browser on a real server with a live feed: a coin starred on the dashboard is on
the watchlist page, whose prices and changes move live; a target typed in a row becomes an alert; with
several lists the star asks which; rows are dragged into a new order that is saved."""

from __future__ import annotations

import os
import re

import pytest

from tests.processes import processes
from tests.test_browser import CHROMIUM, page  # noqa: F401 (the fixture)
from tests.test_browser_alerts import in_thread
from watchlists.models import Watchlist

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)

PASSWORD = "a long pass phrase"


@pytest.fixture
def server(seeded_market, tmp_path):
    """Daphne with the feed: inside it (embedded) or as run_feed beside it (full stack)."""
    from django.conf import settings

    with processes(tmp_path) as group:
        if settings.REDIS_URL:
            group.feed(FEED_EMBEDDED="false")
            yield group.daphne(FEED_EMBEDDED="false")
        else:
            yield group.daphne(FEED_EMBEDDED="true")


@pytest.fixture
def trader(seeded_market, django_user_model):
    """A trader with the default list (created before the browser starts: see ``page``)."""
    return django_user_model.objects.create_user("trader", password=PASSWORD, email="t@example.com")


def log_in(tab) -> None:
    tab.goto(tab.base + "/accounts/login/?next=/")
    tab.fill("input[name=username]", "trader")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_url(re.compile(r"/$"))


def symbols_on(name: str) -> list[str]:
    watchlist = Watchlist.objects.get(user__username="trader", name=name)
    return [item.coin.symbol for item in watchlist.items.order_by("position", "id").select_related("coin")]


def test_a_coin_starred_on_the_dashboard_is_on_the_watchlist_with_its_price_moving_live(trader, page):  # noqa: F811
    log_in(page)
    page.wait_for_selector("#live-status.live")
    page.click("#star-ETH button.star")
    page.wait_for_selector("#star-ETH button.star.on[aria-pressed=true]")
    assert in_thread(symbols_on, "Watchlist") == ["ETH"]

    page.click("nav.sidebar a[href='/watchlist']")
    page.wait_for_url(re.compile(r"/watchlist$"))
    page.wait_for_selector("#watchlist-rows tr[data-symbol=ETH]")
    assert page.is_visible("#watchlist-rows tr[data-symbol=ETH] svg.spark polyline")  # a week of the history
    page.wait_for_selector("#live-status.live")
    page.evaluate("window.__sameDocument = true")
    before = page.text_content("#p-ETH")
    page.wait_for_function("before => document.querySelector('#p-ETH').textContent !== before", arg=before)
    # The change since added follows the price: (price / price when added - 1) in percent.
    page.wait_for_function("() => document.querySelector('#item-ETH').dataset.liveAt")
    shown, price, base = page.evaluate(
        """() => [document.querySelector('#item-ETH [data-change=added]').textContent,
                  parseFloat(document.querySelector('#p-ETH').textContent.replace(/,/g, '')),
                  parseFloat(document.querySelector('#item-ETH [data-change=added]').dataset.base)]"""
    )
    assert abs(float(shown.rstrip("%")) - (price / base - 1) * 100) < 0.01, (shown, price, base)
    assert page.evaluate("window.__sameDocument") is True  # no reload

    page.fill("#item-ETH input[name=target_price]", "-3")
    page.press("#item-ETH input[name=target_price]", "Enter")
    page.wait_for_selector("#item-ETH td.invalid >> text=Enter a positive price in USDT")
    page.fill("#item-ETH input[name=target_price]", "999999")
    page.press("#item-ETH input[name=target_price]", "Enter")
    page.wait_for_selector("#item-ETH a.level-alert")
    assert page.input_value("#item-ETH input[name=target_price]") == "999999"


def test_with_two_lists_the_star_asks_which_and_a_dragged_row_keeps_its_place(trader, page):  # noqa: F811
    from watchlists.services import watchlist_create, watchlist_item_add

    def prepare():
        watchlist_create(user=trader, name="Majors")
        default = Watchlist.objects.get(user=trader, is_default=True)
        for symbol in ("BTC", "ETH", "SOL"):
            watchlist_item_add(watchlist=default, symbol=symbol)

    in_thread(prepare)
    log_in(page)
    page.goto(page.base + "/coins/DOGE")
    page.click("#star-DOGE button.star")
    page.wait_for_selector("#star-DOGE .star-menu [role=menuitemcheckbox] >> text=Majors")
    page.click("#star-DOGE .star-menu [role=menuitemcheckbox]:has-text('Majors')")
    page.wait_for_selector("#star-DOGE .star-menu [aria-checked=true]:has-text('Majors')")
    page.keyboard.press("Escape")
    page.wait_for_selector("#star-DOGE .star-menu", state="detached")
    assert page.is_visible("#star-DOGE button.star.on")
    assert in_thread(symbols_on, "Majors") == ["DOGE"]

    page.goto(page.base + "/watchlist")
    page.drag_and_drop("#item-SOL .drag-handle", "#item-BTC td.col-coin", target_position={"x": 5, "y": 2})
    page.wait_for_function("() => document.querySelector('#watchlist-table').dataset.orderSaved")
    shown = page.eval_on_selector_all("#watchlist-rows tr[data-symbol]", "rows => rows.map((r) => r.dataset.symbol)")
    assert shown == ["SOL", "BTC", "ETH"]
    assert in_thread(symbols_on, "Watchlist") == ["SOL", "BTC", "ETH"]
    page.focus("#item-ETH .drag-handle")
    page.keyboard.press("ArrowUp")  # the keyboard's way
    page.wait_for_function("() => document.querySelector('#item-ETH').classList.contains('saved')")
    page.wait_for_timeout(300)
    assert in_thread(symbols_on, "Watchlist") == ["SOL", "ETH", "BTC"]
