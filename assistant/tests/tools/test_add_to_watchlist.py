"""add_to_watchlist: a coin onto the user's default or named list (by name, any case), through the watchlists'
service; refusals name the argument; undo takes the coin off, the user's lists only."""

from __future__ import annotations

import pytest

from assistant.tests.tools.conftest import run
from assistant.tools import TOOLS, ToolError
from watchlists.models import WatchlistItem
from watchlists.selectors import watchlist_default_get
from watchlists.services import watchlist_create, watchlist_item_add


def on(watchlist) -> list[str]:
    return list(WatchlistItem.objects.filter(watchlist=watchlist).values_list("coin__symbol", flat=True))


def test_adds_to_the_default_list_without_a_name(user, coins):
    outcome = run(user, "add_to_watchlist", symbol="sol")
    default = watchlist_default_get(user=user)
    assert on(default) == ["SOL"]
    assert outcome.result == {
        "symbol": "SOL",
        "watchlist": {"id": default.pk, "name": default.name},
        "added_price": 140.0,
        "coins_on_list": 1,
    }
    assert outcome.links == [
        {"label": default.name, "url": f"/watchlist/{default.pk}"},
        {"label": "SOL", "url": "/coins/SOL"},
    ]
    assert outcome.undo == {"watchlist_id": default.pk, "symbol": "SOL"}


def test_adds_to_a_named_list_in_any_case(user, coins):
    swing = watchlist_create(user=user, name="Swing trades")
    run(user, "add_to_watchlist", symbol="ETH", watchlist="swing TRADES")
    assert on(swing) == ["ETH"] and on(watchlist_default_get(user=user)) == []


def test_an_unknown_list_is_refused_listing_the_users_lists(user, coins):
    watchlist_create(user=user, name="Swing")
    with pytest.raises(ToolError) as refused:
        run(user, "add_to_watchlist", symbol="ETH", watchlist="Moon")
    message = refused.value.message
    assert message.startswith("watchlist:") and "'Swing'" in message and "'Watchlist'" in message


def test_a_coin_already_on_the_list_is_refused_naming_symbol(user, coins):
    run(user, "add_to_watchlist", symbol="BTC")
    with pytest.raises(ToolError) as refused:
        run(user, "add_to_watchlist", symbol="BTC")
    assert refused.value.message.startswith("symbol:") and "Already on this list" in refused.value.message


def test_undo_takes_the_coin_off_once(user, coins):
    outcome = run(user, "add_to_watchlist", symbol="DOGE")
    TOOLS["add_to_watchlist"].undo(user=user, undo=outcome.undo)
    assert on(watchlist_default_get(user=user)) == []
    TOOLS["add_to_watchlist"].undo(user=user, undo=outcome.undo)  # already gone: nothing happens


def test_a_forged_undo_never_touches_another_users_list(user, other):
    theirs = watchlist_default_get(user=other)
    watchlist_item_add(watchlist=theirs, symbol="BTC")
    forged = [
        {"watchlist_id": theirs.pk, "symbol": "BTC"},
        {"watchlist_id": str(theirs.pk), "symbol": "BTC"},
        {"watchlist_id": theirs.pk, "symbol": ["BTC"]},
        {"symbol": "BTC"},
        None,
    ]
    for undo in forged:
        TOOLS["add_to_watchlist"].undo(user=user, undo=undo)
    assert on(theirs) == ["BTC"]
