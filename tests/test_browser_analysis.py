"""The analysis page in a real browser, on a real server with a live feed."""

from __future__ import annotations

import itertools
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
    page.wait_for_function(f"() => Number({CHART}.dataset.loaded) > 100 && {CHART}.dataset.timeframe === '1h'")
    assert page.is_hidden("#analysis-state")
    assert page.evaluate(f"{CHART}.dataset.panes") == "3"  # price and volume, RSI, MACD
    assert page.locator("#analysis-chart canvas").count() > 0
    assert int(page.evaluate(f"{CHART}.dataset.levels")) > 0  # pivots and swing levels
    page.wait_for_function(f"() => {CHART}.dataset.lastUpdate")  # the last candle moves over the socket
    page.wait_for_function(f"() => {CHART}.dataset.indicatorsUpdated", timeout=15_000)  # and the indicators follow
    page.wait_for_selector("#verdict[data-timeframe='1h']")
    assert page.locator("#analysis-summary tr[data-indicator='rsi']").count() == 1

    page.check("input[data-overlay='ema']")
    page.wait_for_selector("#analysis-key >> text=EMA 21")
    page.uncheck("input[data-overlay='levels']")
    page.wait_for_function(f"() => {CHART}.dataset.levels === '0'")

    page.click("button[data-timeframe='4h']")
    page.wait_for_url(re.compile(r"timeframe=4h"))
    page.wait_for_selector("#verdict[data-timeframe='4h']")  # the summary follows the switch
    page.wait_for_function(f"() => {CHART}.dataset.timeframe === '4h' && Number({CHART}.dataset.loaded) > 100")
    assert "Classic pivots of the previous week" in page.text_content("#analysis-summary")


# How many lines an element's text takes.
TEXT_LINES = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
}"""

# The state of the report: an RSI that swings between 20 and 80 and stands at 31 now, so that the
# scale moves its "30" label off the line to make room for the value's. Then, read from the chart's
# own screenshots, the rows (CSS pixels from the pane's top) of the RSI scale that hold the 30 and
# 70 labels, and the rows where the scale draws tick labels (the muted colour) once those labels
# and the value's are hidden: what the labels would cover.
RSI_SCALE_ROWS = """async box => {
  const { chart, rsi } = box.scalpaiboardChart;
  const points = rsi.data();
  rsi.setData(points.map(({ time }, i) => ({ time, value: i === points.length - 1 ? 31 : 50 + 30 * Math.sin(i / 5) })));
  const colours = { low: [22, 199, 132], high: [234, 57, 67], ticks: [138, 147, 166] };
  const rowsOf = async () => {
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const shot = chart.takeScreenshot();
    const ratio = shot.width / chart.chartElement().clientWidth;
    const pane = chart.panes()[1].getHTMLElement().getBoundingClientRect();
    const top = Math.round((pane.top - chart.chartElement().getBoundingClientRect().top) * ratio);
    const left = Math.ceil(chart.paneSize(1).width * ratio);
    const width = shot.width - left;
    const pixels = shot.getContext("2d").getImageData(left, top, width, Math.round(pane.height * ratio)).data;
    const rows = { low: new Set(), high: new Set(), ticks: new Set() };
    for (let i = 0; i < pixels.length; i += 4) {
      Object.entries(colours).forEach(([name, [r, g, b]]) => {
        const off = Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g) + Math.abs(pixels[i + 2] - b);
        if (pixels[i + 3] > 100 && off < 40) rows[name].add(Math.floor(i / 4 / width / ratio));
      });
    }
    return Object.fromEntries(Object.entries(rows).map(([name, found]) => [name, [...found]]));
  };
  const shown = await rowsOf();
  const lines = rsi.priceLines();
  lines.forEach((line) => line.applyOptions({ axisLabelVisible: false }));
  rsi.applyOptions({ lastValueVisible: false });
  const { ticks } = await rowsOf();
  lines.forEach((line) => line.applyOptions({ axisLabelVisible: true }));
  rsi.applyOptions({ lastValueVisible: true });
  return { low: shown.low, high: shown.high, ticks };
}"""


# Where the price pane's labels sit: the last close's and each labelled price line's, in pixels.
PRICE_LABELS = """box => {
  const { chart, candles } = box.scalpaiboardChart;
  const bars = candles.data();
  const labelled = candles.priceLines().map((line) => line.options()).filter((line) => line.axisLabelVisible);
  const prices = [bars[bars.length - 1].close, ...labelled.map((line) => line.price)];
  const height = chart.paneSize(0).height;
  return prices.map((price) => candles.priceToCoordinate(price)).filter((y) => y !== null && y >= 0 && y <= height);
}"""


def without_patterns(tab) -> tuple[str, str]:
    """A coin and timeframe whose last closed bar shows no chart pattern."""
    for symbol in ("BTC", "ETH", "SOL", "DOGE", "PEPE"):
        for timeframe in ("1d", "4h", "1h", "15m"):
            found = tab.request.get(f"{tab.base}/api/coins/{symbol}/patterns?timeframe={timeframe}").json()
            if not found["patterns"]:
                return symbol, timeframe
    pytest.fail("every coin and timeframe shows a pattern")


def test_analysis_chart_labels_stay_whole_apart_and_off_the_data(page):  # noqa: F811
    symbol, timeframe = without_patterns(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{page.base}/coins/{symbol}/analysis?timeframe={timeframe}")
    page.wait_for_function(f"() => Number({CHART}.dataset.loaded) > 100")

    names = page.locator("#analysis-summary tr[data-indicator] td:first-child")
    assert names.count() > 10
    for name in names.all():
        assert name.evaluate(TEXT_LINES) == 1, f"{name.text_content()!r} breaks over lines"

    assert page.locator("#analysis-chart a[href*='tradingview.com']").count() == 0  # no logo on the panes
    credit = page.locator(".chart-credit a[href='https://www.tradingview.com/']")
    assert credit.is_visible() and "TradingView Lightweight Charts" in credit.text_content()

    none = page.locator("#analysis-patterns-none")
    assert none.is_visible() and none.text_content() == "No pattern at the last closed bar"
    page.uncheck("input[data-overlay='patterns']")
    assert none.is_hidden()  # nothing asked for, nothing to explain
    page.check("input[data-overlay='patterns']")
    assert none.is_visible()

    rows = page.eval_on_selector("#analysis-chart", RSI_SCALE_ROWS)
    for level in ("low", "high"):  # the 30 and the 70 label
        assert rows[level], f"the {level} RSI line has its label on the scale"
        span = range(min(rows[level]) - 2, max(rows[level]) + 3)
        assert not set(rows["ticks"]) & set(span), f"the {level} RSI label at rows {span} covers tick labels: {rows}"

    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function(f"() => {CHART}.clientWidth < 390")
    page.wait_for_timeout(300)  # the chart redraws, then its labels make room
    labels = sorted(page.eval_on_selector("#analysis-chart", PRICE_LABELS))
    gaps = [below - above for above, below in itertools.pairwise(labels)]
    assert all(gap >= 16 for gap in gaps), f"price labels overlap on a phone: at {labels}"
    for name in names.all():
        assert name.evaluate(TEXT_LINES) == 1, f"{name.text_content()!r} breaks over lines on a phone"
