"""get_portfolio: the user's holdings with P&L (as GET /api/portfolio answers) and their watchlists' performance."""

from __future__ import annotations

from rest_framework.test import APIClient

from assistant.tests.tools.conftest import run
from watchlists.models import WatchlistItem
from watchlists.portfolio_services import transaction_create
from watchlists.selectors import watchlist_default_get
from watchlists.services import watchlist_item_add


def buy(user, symbol: str, quantity: str, price: str) -> None:
    transaction_create(user=user, data={"side": "buy", "symbol": symbol, "quantity": quantity, "price": price})


def test_holdings_with_pnl_as_the_api_answers_them(user, coins):
    buy(user, "BTC", "0.5", "80000")
    buy(user, "SOL", "10", "150")
    client = APIClient()
    client.force_authenticate(user)
    api = client.get("/api/portfolio").json()
    result = run(user, "get_portfolio").result
    assert result["method"] == "average" and result["totals"] == api["totals"]
    btc = result["positions"][0]
    assert btc["symbol"] == "BTC" and btc["unrealized_pnl"] == "5000" and btc["value"] == "45000"
    assert [p["symbol"] for p in result["positions"]] == [p["symbol"] for p in api["positions"]]
    assert {p["symbol"]: p["pnl_percent"] for p in result["positions"]} == {
        p["symbol"]: p["pnl_percent"] for p in api["positions"]
    }


def test_watchlists_performance_since_added(user, coins):
    default = watchlist_default_get(user=user)
    watchlist_item_add(watchlist=default, symbol="ETH")
    WatchlistItem.objects.filter(watchlist=default).update(added_price=2500.0)  # bought the dip: +20 %
    outcome = run(user, "get_portfolio", method="fifo")
    (performance,) = outcome.result["watchlists"]
    assert outcome.result["method"] == "fifo" and outcome.result["positions"] == []
    assert performance["name"] == default.name and performance["coins"] == 1
    assert performance["average_change_since_added"] == 20.0
    assert performance["items"] == [{"symbol": "ETH", "price": 3000.0, "change24h": -4.0, "change_since_added": 20.0}]
    assert outcome.links == [
        {"label": "Portfolio", "url": "/portfolio"},
        {"label": default.name, "url": f"/watchlist/{default.pk}"},
    ]


def test_another_users_holdings_and_lists_are_not_in_it(user, other):
    buy(other, "BTC", "1", "50000")
    watchlist_item_add(watchlist=watchlist_default_get(user=other), symbol="PEPE")
    result = run(user, "get_portfolio").result
    assert result["positions"] == [] and result["totals"]["value"] == "0"
    assert [w["coins"] for w in result["watchlists"]] == [0]
