"""filter_coins: the screener's rows (the same as GET /api/screener's), narrowed by price, change and one of
the user's watchlists, capped, with coin links."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from assistant.tests.tools.conftest import run
from markets.models import Coin
from watchlists.selectors import watchlist_default_get
from watchlists.services import watchlist_create, watchlist_item_add


def symbols(outcome) -> list[str]:
    return [row["symbol"] for row in outcome.result["rows"]]


def test_screens_by_rsi_like_the_screener_api(user, market):
    for query in ({"rsi_below": 30}, {"rsi_above": 70}, {"rsi_above": 30, "rsi_below": 70}):
        api = APIClient().get("/api/screener", query).json()["results"]
        outcome = run(user, "filter_coins", **query)
        assert symbols(outcome) == [row["symbol"] for row in api]
        assert [row["rsi"] for row in outcome.result["rows"]] == [pytest.approx(row["rsi"], rel=1e-4) for row in api]
    assert symbols(run(user, "filter_coins", rsi_below=30)) == ["ETH"]


def test_rows_carry_price_change_volume_verdict_and_patterns(user, market):
    outcome = run(user, "filter_coins", pattern="double_bottom")
    assert outcome.result["count"] == 1 and outcome.result["timeframe"] == "1h"
    (btc,) = outcome.result["rows"]
    assert btc["symbol"] == "BTC" and btc["change24h"] == 2.0 and btc["volume24h"] == 2.0e9
    assert btc["rsi"] > 70 and btc["price"] > 0 and btc["verdict"]
    assert btc["patterns"] == [{"kind": "double_bottom", "direction": "bullish", "confidence": 0.8}]
    assert outcome.links == [{"label": "BTC", "url": "/coins/BTC"}]


def test_rows_without_a_pattern_leave_patterns_out(user, market):
    rows = run(user, "filter_coins", rsi_below=30).result["rows"]
    assert "patterns" not in rows[0]


def test_narrows_by_24h_change_and_price(user, market):
    assert symbols(run(user, "filter_coins", min_change=0)) == ["BTC", "SOL", "PEPE"]
    assert symbols(run(user, "filter_coins", max_change=-2)) == ["ETH"]
    # DOGE and PEPE have no bars: their listed prices (0.15, 0.0000095) stand in.
    assert symbols(run(user, "filter_coins", max_price=1)) == ["DOGE", "PEPE"]
    assert symbols(run(user, "filter_coins", max_price=1, min_change=0)) == ["PEPE"]


def test_narrows_to_one_of_the_users_watchlists_by_name(user, market):
    majors = watchlist_create(user=user, name="Majors")
    for symbol in ("SOL", "BTC"):
        watchlist_item_add(watchlist=majors, symbol=symbol)
    assert symbols(run(user, "filter_coins", watchlist="majors")) == ["BTC", "SOL"]
    watchlist_item_add(watchlist=watchlist_default_get(user=user), symbol="ETH")
    assert symbols(run(user, "filter_coins", watchlist="Watchlist", rsi_below=30)) == ["ETH"]


def test_limit_caps_the_rows_not_the_count(user, market):
    outcome = run(user, "filter_coins", limit=2)
    assert outcome.result["count"] == 5 and outcome.result["shown"] == 2
    assert symbols(outcome) == ["BTC", "ETH"]


def test_twenty_rows_by_default(user, market):
    updated = market["BTC"].updated_at
    for i in range(25):
        Coin.objects.create(symbol=f"X{i}", name=f"Extra {i}", rank=10 + i, price=1.0, updated_at=updated)
    outcome = run(user, "filter_coins")
    assert (outcome.result["count"], outcome.result["shown"], len(outcome.links)) == (30, 20, 10)
    assert run(user, "filter_coins", limit=50).result["shown"] == 30
