"""The coin page's chart in a real browser: it keeps its size while live candles arrive."""

from __future__ import annotations

import os
import time

import pytest

from tests.test_browser import CHROMIUM, page, server  # noqa: F401 (the fixtures)

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)

VIEWPORTS = [(1440, 900), (1024, 768), (390, 844)]  # desktop, small laptop, phone

# The chart box and where the chart draws its last candle's close (pane coordinates).
CHART_GEOMETRY = """box => {
  const { chart, candles } = box.scalpaiboardChart;
  const bars = candles.data();
  const last = bars[bars.length - 1];
  const rect = box.getBoundingClientRect();
  return {
    top: rect.top, height: rect.height, viewport: window.innerHeight, pane: chart.paneSize(0),
    x: chart.timeScale().timeToCoordinate(last.time), y: candles.priceToCoordinate(last.close),
  };
}"""


def test_coin_chart_keeps_its_height_and_the_last_candle_in_view(page):  # noqa: F811
    pages = [page] + [page.context.new_page() for _ in VIEWPORTS[1:]]
    for tab, (width, height) in zip(pages, VIEWPORTS, strict=True):
        tab.set_viewport_size({"width": width, "height": height})
        tab.goto(page.base + "/coins/BTC")
    for tab in pages:
        tab.wait_for_function("() => Number(document.querySelector('#chart').dataset.loaded) > 100")
        tab.wait_for_function("() => document.querySelector('#chart').dataset.lastUpdate")  # live candles arrive
    first = [tab.eval_on_selector("#chart", CHART_GEOMETRY) for tab in pages]

    time.sleep(30)  # every page open together: one 30 s wait for all three sizes

    for tab, (width, _), before in zip(pages, VIEWPORTS, first, strict=True):
        now = tab.eval_on_selector("#chart", CHART_GEOMETRY)
        assert now["height"] == before["height"], f"{width} px wide: the chart went from {before} to {now}"
        assert now["top"] + now["height"] <= now["viewport"], f"{width} px wide: the chart ends below the fold: {now}"
        assert 0 <= now["x"] <= now["pane"]["width"], f"{width} px wide: the last candle is off the chart: {now}"
        assert 0 <= now["y"] <= now["pane"]["height"], f"{width} px wide: the last close is off the chart: {now}"
        assert tab.locator("#chart a[href*='tradingview.com']").count() == 0  # no logo over the candles
        assert tab.locator(".chart-credit a[href='https://www.tradingview.com/']").is_visible()
