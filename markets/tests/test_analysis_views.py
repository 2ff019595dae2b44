"""The analysis page: the chart's hooks, the summary beside it (and as its HTMX partial), the links to it."""

from __future__ import annotations

import pytest

from markets.tests.analysis_data import MIDNIGHT, bars_store, random_walk


@pytest.fixture
def btc_bars(coins):
    bars_store("BTC", "1h", random_walk(250, seed=9, drift=0.004))
    bars_store("BTC", "1d", random_walk(40, seed=3, end=MIDNIGHT, seconds=86400))


def test_analysis_page_has_the_chart_the_summary_and_the_live_fields(client, btc_bars):
    response = client.get("/coins/btc/analysis", {"timeframe": "1h"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="analysis-chart"' in html and 'data-timeframe="1h"' in html
    assert (
        'data-analysis-url="/api/coins/BTC/analysis"' in html and 'data-patterns-url="/api/coins/BTC/patterns"' in html
    )
    assert 'id="p-BTC"' in html and "js/analysis.js" in html and "lightweight-charts.js" in html
    for overlay in ("sma", "ema", "bbands", "levels", "patterns"):
        assert f'data-overlay="{overlay}"' in html
    assert 'id="verdict"' in html and "RSI (14)" in html and "Classic pivots of the previous day" in html
    macd_cell = html.split('data-indicator="macd"')[1].split('<td class="num">')[1].split("</td>")[0]
    assert macd_cell.startswith("hist ")  # the histogram, named: the MACD and signal lines are in the reason
    assert "Alert ideas" in html and "be told when" in html


def test_summary_names_what_is_missing_when_history_is_short(client, coins):
    bars_store("BTC", "1h", random_walk(20))
    html = client.get("/coins/BTC/analysis").content.decode()
    assert "needs 200 closed bars, have 20" in html


def test_a_coin_without_bars_gets_an_empty_state(client, coins):
    html = client.get("/coins/ETH/analysis", {"timeframe": "4h"}).content.decode()
    assert "No closed 4h bars stored for ETH yet." in html


def test_htmx_summary_request_gets_only_the_summary_of_that_timeframe(client, btc_bars):
    response = client.get(
        "/coins/BTC/analysis", {"timeframe": "1d"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="analysis-summary"
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="analysis-chart"' not in html
    assert 'data-timeframe="1d"' in html and "Classic pivots of the previous month" in html


def test_an_unknown_timeframe_falls_back_to_one_hour(client, btc_bars):
    html = client.get("/coins/BTC/analysis", {"timeframe": "7m"}).content.decode()
    assert 'id="analysis-chart" data-symbol="BTC" data-timeframe="1h"' in html


def test_unknown_coin_analysis_page_is_404(client, db):
    assert client.get("/coins/NOPE/analysis").status_code == 404


def test_menu_and_coin_page_link_to_the_analysis(client, btc_bars):
    dashboard = client.get("/").content.decode()
    assert '<a class="nav-item " href="/analysis">Analysis</a>' in dashboard
    assert '<a class="nav-item " href="/assistant">Assistant</a>' in dashboard  # the others stay as they were
    coin_page = client.get("/coins/BTC", {"timeframe": "4h"}).content.decode()
    assert 'href="/coins/BTC/analysis?timeframe=4h"' in coin_page
    assert 'href="/coins/BTC/analysis">Analysis</a>' in coin_page
    analysis = client.get("/coins/BTC/analysis").content.decode()
    assert '<a class="nav-item active" href="/coins/BTC/analysis">Analysis</a>' in analysis


def test_menu_entry_opens_the_top_coins_analysis(client, coins):
    response = client.get("/analysis")
    assert response.status_code == 302 and response["Location"] == "/coins/BTC/analysis"


def test_analysis_page_query_count(client, btc_bars, django_assert_num_queries):
    client.get("/coins/BTC/analysis")
    with django_assert_num_queries(1):  # the coin; the analysis is cached for the bar
        client.get("/coins/BTC/analysis", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="analysis-summary")
