"""The analysis page in a real browser, on a real server with a live feed."""

from __future__ import annotations

import os
import re

import pytest

from tests.test_browser import CHROMIUM, page, server  # noqa: F401 (the fixtures)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)

CHART = "document.querySelector('#analysis-chart')"


def test_analysis_page_draws_the_chart_moves_live_and_switches_timeframe(page):  # noqa: F811
    page.goto(page.base + "/coins/ETH")
    page.click("#analysis-link")
    page.wait_for_url(re.compile(r"/coins/ETH/analysis\?timeframe=1m$"))
    page.click("button[data-timeframe='1h']")
    page.wait_for_selector("#live-status.live")
    page.wait_for_function(f"Number({CHART}.dataset.loaded) > 100 && {CHART}.dataset.timeframe === '1h'")
    assert page.is_hidden("#analysis-state")
    assert page.evaluate(f"{CHART}.dataset.panes") == "3"  # price and volume, RSI, MACD
    assert page.locator("#analysis-chart canvas").count() > 0
    assert int(page.evaluate(f"{CHART}.dataset.levels")) > 0  # pivots and swing levels
    page.wait_for_function(f"{CHART}.dataset.lastUpdate")  # the last candle moves over the socket
    page.wait_for_function(f"{CHART}.dataset.indicatorsUpdated", timeout=15_000)  # and the indicators follow
    page.wait_for_selector("#verdict[data-timeframe='1h']")
    assert page.locator("#analysis-summary tr[data-indicator='rsi']").count() == 1

    page.check("input[data-overlay='ema']")
    page.wait_for_selector("#analysis-key >> text=EMA 21")
    page.uncheck("input[data-overlay='levels']")
    page.wait_for_function(f"{CHART}.dataset.levels === '0'")

    page.click("button[data-timeframe='4h']")
    page.wait_for_url(re.compile(r"timeframe=4h"))
    page.wait_for_selector("#verdict[data-timeframe='4h']")  # the summary follows the switch
    page.wait_for_function(f"{CHART}.dataset.timeframe === '4h' && Number({CHART}.dataset.loaded) > 100")
    assert "Classic pivots of the previous week" in page.text_content("#analysis-summary")
