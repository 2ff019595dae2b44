"""Market pages: the dashboard and its HTMX table, the coin page and its live panels."""

from __future__ import annotations

import time

import pytest

from markets import snapshot


@pytest.fixture
def published(coins):
    """The feed has published BTC (the order book needs a live price)."""
    ticker = {"symbol": "BTC", "price": 90000.0, "change24h": 1.0, "volume24h": 2e9, "high24h": 1, "low24h": 1, "ts": 1}
    snapshot.snapshot_store(tickers={"BTC": ticker}, bars={}, version=1, ts=1)


def test_dashboard_shows_overview_cards_and_the_coin_table(client, coins):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Top gainers" in html and "Top losers" in html and "Top volume" in html
    assert 'id="p-BTC"' in html and 'ws-connect="/ws?format=html"' in html
    assert html.index('data-symbol="BTC"') < html.index('data-symbol="ETH"')


def test_htmx_table_request_gets_only_the_table_with_the_same_filters_as_the_api(client, coins):
    response = client.get(
        "/", {"min_price": 100, "ordering": "-change24h"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="coin-table"
    )
    html = response.content.decode()
    assert "<html" not in html and "Top gainers" not in html
    rows = [s for s in ("BTC", "ETH", "SOL", "DOGE", "PEPE") if f'data-symbol="{s}"' in html]
    assert rows == ["BTC", "ETH", "SOL"]
    assert html.index('data-symbol="SOL"') < html.index('data-symbol="BTC"') < html.index('data-symbol="ETH"')


def test_bad_filter_shows_a_form_error_naming_the_field(client, coins):
    response = client.get("/", {"min_price": "lots"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="coin-table")
    html = response.content.decode()
    assert response.status_code == 200
    assert "min_price" in html and "Enter a number" in html
    assert 'data-symbol="BTC"' not in html


def test_an_empty_item_in_the_ordering_shows_the_same_error_as_the_api(client, coins):
    response = client.get("/", {"ordering": "-price,"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="coin-table")
    html = response.content.decode()
    api = client.get("/api/coins", {"ordering": "-price,"}).json()
    assert api["ordering"][0] in html
    assert 'data-symbol="BTC"' not in html


def test_dashboard_paginates(client, coins):
    html = client.get("/", {"per_page": 25}).content.decode()
    assert "5 coins" in html and "Next" not in html


def test_dashboard_query_count_is_fixed(client, coins, django_assert_num_queries):
    with django_assert_num_queries(5):  # count, page, three overview lists
        client.get("/")


def test_coin_page_has_the_chart_and_live_fields(client, coins):
    response = client.get("/coins/eth")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="chart"' in html and 'data-symbol="ETH"' in html and 'id="p-ETH"' in html
    assert "/api/coins/ETH/candles" in html


def test_unknown_coin_page_is_404(client, db):
    assert client.get("/coins/NOPE").status_code == 404


def test_a_coin_page_for_a_symbol_with_a_nul_character_is_404(client, db):
    assert client.get("/coins/BT%00C").status_code == 404


def test_orderbook_panel_lists_bids_and_asks(client, published):
    html = client.get("/coins/BTC/orderbook").content.decode()
    assert html.count('class="pos num"') == 15 and html.count('class="neg num"') == 15
    assert "Spread" in html


def test_orderbook_panel_explains_when_the_feed_has_not_published(client, coins):
    html = client.get("/coins/ETH/orderbook").content.decode()
    assert "Order book unavailable" in html


def test_trades_panel_explains_when_there_are_none(client, coins):
    html = client.get("/coins/ETH/trades").content.decode()
    assert "Trades unavailable" in html


def test_overview_partial_refreshes_the_cards(client, coins):
    html = client.get("/markets/overview").content.decode()
    assert html.startswith('<section id="overview"') and "SOL" in html


def test_pages_poll_the_data_delay_notice(client, coins):
    html = client.get("/").content.decode()
    assert 'hx-get="/markets/feed-status"' in html


def test_the_delay_notice_is_empty_while_the_data_is_current(client, coins):
    now = int(time.time() * 1000)
    snapshot.snapshot_store(tickers={}, bars={}, version=now, ts=now)
    assert client.get("/markets/feed-status").content.decode().strip() == ""


def test_the_delay_notice_says_how_far_behind_the_data_is(client, coins):
    old = int((time.time() - 17) * 1000)
    snapshot.snapshot_store(tickers={}, bars={}, version=old, ts=old)
    assert "Data delayed 17 s" in client.get("/markets/feed-status").content.decode()


def test_the_delay_notice_waits_for_the_first_data(client, db):
    assert "Waiting for market data" in client.get("/markets/feed-status").content.decode()
