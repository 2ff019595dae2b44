"""The portfolio page in a real browser with the feed running: holdings' prices and values change live,
the history chart draws, a refused transaction shows its error by the field, a recorded one joins the
holdings without a reload. ``PORTFOLIO_SCREENSHOT=path.png`` keeps a screenshot of the page."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import seeded_market  # noqa: F401 (the fixture)
from tests.test_browser import CHROMIUM, page, server  # noqa: F401 (the fixtures)
from watchlists.portfolio_services import transaction_create

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)

PASSWORD = "a long pass phrase"


@pytest.fixture
def trader(seeded_market, django_user_model):  # noqa: F811
    """A trader holding BTC, ETH and SOL (created before the browser starts: see ``page``)."""
    user = django_user_model.objects.create_user("trader", password=PASSWORD, email="t@example.com")
    holdings = [("BTC", "0.5", "80000", 60), ("ETH", "4", "2500", 30), ("SOL", "20", "120", 10)]
    for symbol, quantity, price, days_ago in holdings:
        transaction_create(user=user, data=_buy(symbol, quantity, price, days_ago))
    transaction_create(user=user, data={**_buy("ETH", "1", "3500", 5), "side": "sell", "fee": "2"})
    return user


def _buy(symbol: str, quantity: str, price: str, days_ago: int) -> dict:
    when = (timezone.now() - timedelta(days=days_ago)).isoformat()
    return {"side": "buy", "symbol": symbol, "quantity": quantity, "price": price, "fee": "1", "time": when}


def log_in(tab) -> None:
    tab.goto(tab.base + "/accounts/login/?next=/portfolio")
    tab.fill("input[name=username]", "trader")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_url(re.compile(r"/portfolio$"))


def test_the_portfolio_updates_live_and_records_transactions(trader, page):  # noqa: F811
    log_in(page)
    page.evaluate("window.__sameDocument = true")
    price = page.text_content("#p-BTC")
    value = page.text_content('tr[data-symbol="BTC"] [data-field="value"]')
    page.wait_for_function(f"() => document.querySelector('#p-BTC').textContent !== {price!r}", timeout=30_000)
    page.wait_for_function(
        f'() => document.querySelector(\'tr[data-symbol="BTC"] [data-field="value"]\').textContent !== {value!r}'
    )
    page.wait_for_function("() => document.getElementById('history-state').hidden")  # the chart has its data
    assert page.locator("svg.donut circle").count() == 4  # the track and three holdings

    page.select_option("select[name=side]", "sell")
    page.fill("input[name=symbol]", "DOGE")
    page.fill("input[name=quantity]", "5")
    page.fill("input[name=price]", "0.2")
    page.click("#transaction-form button[type=submit]")
    page.wait_for_selector(".field.invalid >> text=More than was held at that time")

    page.select_option("select[name=side]", "buy")
    page.click("#transaction-form button[type=submit]")
    page.wait_for_selector('tr[data-symbol="DOGE"]')
    if os.environ.get("PORTFOLIO_SCREENSHOT"):
        page.wait_for_timeout(1500)
        page.screenshot(path=os.environ["PORTFOLIO_SCREENSHOT"], full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(500)
        page.screenshot(path=os.environ["PORTFOLIO_SCREENSHOT"].replace(".png", "-phone.png"), full_page=True)
    assert page.evaluate("window.__sameDocument") is True
