"""Another user's data is unreachable through every tool: their lists by name, their alerts and lists by a
forged undo, their channels and lists by id in an alert's body, their data in results and exports."""

from __future__ import annotations

import pytest

from alerts.channels import channel_create
from alerts.models import Alert
from alerts.services import alert_create
from assistant.models import Export
from assistant.tests.tools.conftest import run
from assistant.tools import TOOLS, ToolError
from watchlists.models import WatchlistItem
from watchlists.selectors import watchlist_default_get
from watchlists.services import watchlist_create, watchlist_item_add

CROSSING = {"kind": "crossing_up", "level": 100000}


@pytest.fixture
def theirs(other, market):
    """The other user's named list "Secret" (with BTC), alert, channel and holdings."""
    secret = watchlist_create(user=other, name="Secret")
    watchlist_item_add(watchlist=secret, symbol="BTC")
    alert = alert_create(user=other, data={"symbol": "ETH", "condition": CROSSING, "note": "their plan"})
    channel = channel_create(user=other, data={"kind": "email", "address": "them@example.com"})
    return {"list": secret, "alert": alert, "channel": channel}


def test_another_users_list_name_is_not_found_by_filter_coins(user, theirs):
    with pytest.raises(ToolError, match=r"^watchlist: you have no watchlist named 'Secret'"):
        run(user, "filter_coins", watchlist="Secret")


def test_another_users_list_name_is_not_found_by_add_to_watchlist_or_export(user, theirs):
    with pytest.raises(ToolError, match=r"^watchlist:"):
        run(user, "add_to_watchlist", symbol="SOL", watchlist="Secret")
    with pytest.raises(ToolError, match=r"^watchlist:"):
        run(user, "export_results", what="watchlist", watchlist="Secret")
    assert list(WatchlistItem.objects.filter(watchlist=theirs["list"]).values_list("coin__symbol", flat=True)) == [
        "BTC"
    ]
    assert not Export.objects.exists()


def test_the_same_name_resolves_to_each_users_own_list(user, theirs):
    mine = watchlist_create(user=user, name="Secret")
    outcome = run(user, "add_to_watchlist", symbol="SOL", watchlist="Secret")
    assert outcome.result["watchlist"]["id"] == mine.pk
    assert WatchlistItem.objects.filter(watchlist=theirs["list"], coin__symbol="SOL").count() == 0


def test_an_alert_cannot_use_another_users_channel_or_list(user, theirs):
    with pytest.raises(ToolError, match=r"^channels:"):
        run(user, "create_alert", symbol="BTC", condition=CROSSING, channels=[theirs["channel"].pk])
    with pytest.raises(ToolError, match="watchlist"):
        run(user, "create_alert", watchlist=theirs["list"].pk, condition={"kind": "rsi_above", "level": 70})
    assert not Alert.objects.filter(user=user).exists()


def test_forged_undos_leave_another_users_data(user, theirs):
    TOOLS["create_alert"].undo(user=user, undo={"alert_id": theirs["alert"].pk})
    TOOLS["add_to_watchlist"].undo(user=user, undo={"watchlist_id": theirs["list"].pk, "symbol": "BTC"})
    assert Alert.objects.filter(pk=theirs["alert"].pk).exists()
    assert WatchlistItem.objects.filter(watchlist=theirs["list"], coin__symbol="BTC").exists()


def test_no_result_carries_another_users_data(user, theirs):
    watchlist_item_add(watchlist=watchlist_default_get(user=user), symbol="SOL")
    outcomes = [
        run(user, "filter_coins"),
        run(user, "get_portfolio"),
        run(user, "get_coin_analysis", symbol="ETH"),
        run(user, "analyze_pattern", symbol="BTC"),
        run(user, "export_results", what="alerts", format="json"),
    ]
    for outcome in outcomes:
        text = repr((outcome.result, outcome.links))
        assert "Secret" not in text and "their plan" not in text and "them@example.com" not in text
    assert [w["name"] for w in outcomes[1].result["watchlists"]] == ["Watchlist"]
