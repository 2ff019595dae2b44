"""A watchlist alert follows the list as users edit it through the watchlist API: the two halves of the
issue (watchlists, alerts on a watchlist) wired together, through the real engine."""

from __future__ import annotations

import pytest

from alerts.engine import AlertEngine
from alerts.models import AlertEvent
from alerts.tests.engine_helpers import T0, bars_store, prices
from watchlists.tests.watchlist_fixtures import api_for, user_make

pytestmark = pytest.mark.django_db(transaction=True)  # edits commit, so the running engine reloads


def all_up(at: float):
    """Every test coin from 100 to 106 (+6 % on the T0 close) at ``at`` (epoch s)."""
    return prices(*((symbol, 100, 106, at) for symbol in ("BTC", "ETH", "SOL", "DOGE", "PEPE")))


def fired(alert_id: int) -> list[str]:
    rows = AlertEvent.objects.filter(alert__parent_id=alert_id).order_by("fired_at", "alert__coin__symbol")
    return [event.alert.coin.symbol for event in rows]


def test_coins_added_and_removed_through_the_api_are_followed_by_the_lists_alert(coins):
    for coin in coins.values():
        bars_store(coin, [100], start=T0)
    api = api_for(user_make("trader"))
    watchlist = api.post("/api/watchlists", {"name": "Majors"}, format="json").json()
    assert api.post(f"/api/watchlists/{watchlist['id']}/items", {"symbol": "BTC"}, format="json").status_code == 201
    body = {
        "watchlist": watchlist["id"],
        "condition": {"kind": "moving_up", "percent": 5, "bars": 1},
        "frequency": "every_time",
        "cooldown": 0,
    }
    created = api.post("/api/alerts", body, format="json")
    assert created.status_code == 201, created.json()
    alert = created.json()
    assert (alert["symbol"], alert["watchlist"]) == (None, watchlist["id"])

    engine = AlertEngine()
    engine.evaluate_prices(all_up(T0 + 61))
    assert fired(alert["id"]) == ["BTC"]

    assert api.post(f"/api/watchlists/{watchlist['id']}/items", {"symbol": "eth"}, format="json").status_code == 201
    engine.evaluate_prices(all_up(T0 + 62))
    assert fired(alert["id"]) == ["BTC", "BTC", "ETH"]  # ETH covered from the moment it was added

    assert api.delete(f"/api/watchlists/{watchlist['id']}/items/BTC").status_code == 204
    engine.evaluate_prices(all_up(T0 + 63))
    assert fired(alert["id"]) == ["ETH", "ETH"]  # BTC fires no more (its part of the history went with it)
    history = api.get(f"/api/alerts/{alert['id']}/history").json()
    symbols = [entry["symbol"] for entry in history.get("results", history)]
    assert "ETH" in symbols
