"""Watchlist writes: the default list from sign-up, lists named, renamed and deleted, coins added once
each (500 at most), removed and reordered, targets and stops kept as alerts, and the alerts that follow
a list told of every change to its coins."""

from __future__ import annotations

import pytest
from django.http import Http404

from alerts.models import Alert
from scalpaiboard.accounts.models import User
from scalpaiboard.api import ApplicationError
from watchlists import services
from watchlists.models import MAX_ITEMS, Watchlist, WatchlistItem
from watchlists.tests.watchlist_fixtures import coins_make, items_make


def refused(call, **kwargs) -> dict:
    """The 400 body's fields of a refused call."""
    with pytest.raises(ApplicationError) as raised:
        call(**kwargs)
    assert raised.value.status_code == 400
    return raised.value.extra


def symbols_of(watchlist: Watchlist) -> list[str]:
    return list(WatchlistItem.objects.filter(watchlist=watchlist).values_list("coin__symbol", flat=True))


@pytest.fixture
def synced(monkeypatch) -> list[int]:
    """The ids watchlist_alerts_sync is called with."""
    calls: list[int] = []
    monkeypatch.setattr(services, "watchlist_alerts_sync", lambda *, watchlist_id: calls.append(watchlist_id))
    return calls


# --- lists -----------------------------------------------------------------------------------------


def test_a_new_user_has_one_empty_default_list(coins):
    new = User.objects.create_user(username="new", email="new@example.com")
    lists = list(Watchlist.objects.filter(user=new).values_list("name", "is_default"))
    assert lists == [("Watchlist", True)]


def test_lists_are_made_after_the_others_with_names_unique_in_any_case(user, default):
    first = services.watchlist_create(user=user, name="  Majors ")
    second = services.watchlist_create(user=user, name="Memes")
    assert (first.name, first.position, second.position) == ("Majors", 1, 2)
    errors = refused(services.watchlist_create, user=user, name="MAJORS")
    assert "already have a list named 'MAJORS'" in errors["name"][0]


def test_another_users_list_name_is_free(user, other):
    services.watchlist_create(user=other, name="Majors")
    assert services.watchlist_create(user=user, name="Majors").user == user


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None, 5, "a\x00b"])
def test_a_bad_name_is_refused_naming_name(user, name):
    assert list(refused(services.watchlist_create, user=user, name=name)) == ["name"]


def test_renaming_keeps_the_list_and_refuses_a_taken_name(user, default):
    majors = services.watchlist_create(user=user, name="Majors")
    assert services.watchlist_update(watchlist=majors, name="majors").name == "majors"  # its own name, recased
    assert "name" in refused(services.watchlist_update, watchlist=majors, name="watchlist")
    assert Watchlist.objects.get(pk=majors.pk).name == "majors"


def test_the_default_list_cannot_be_deleted(default):
    assert "default list cannot be deleted" in refused(services.watchlist_delete, watchlist=default)["watchlist"][0]
    assert Watchlist.objects.filter(pk=default.pk).exists()


def test_deleting_a_list_deletes_its_items_and_their_alerts(user, default, synced):
    majors = services.watchlist_create(user=user, name="Majors")
    services.watchlist_item_add(watchlist=majors, symbol="BTC", target_price=100000)
    services.watchlist_item_add(watchlist=default, symbol="BTC", target_price=95000)
    majors_id = majors.pk
    services.watchlist_delete(watchlist=majors)
    assert not WatchlistItem.objects.filter(watchlist_id=majors_id).exists()
    assert [a.condition["level"] for a in Alert.objects.all()] == [95000]
    assert synced[-1] == majors_id


# --- coins on a list -------------------------------------------------------------------------------


def test_coins_are_appended_at_their_current_price_in_any_case(default, coins, synced):
    btc = services.watchlist_item_add(watchlist=default, symbol="btc", note="core")
    eth = services.watchlist_item_add(watchlist=default, symbol=" Eth ")
    assert (btc.coin.symbol, btc.position, btc.added_price, btc.note) == ("BTC", 0, 90000.0, "core")
    assert (eth.coin.symbol, eth.position, eth.added_price) == ("ETH", 1, 3000.0)
    assert synced == [default.pk, default.pk]


def test_a_coin_twice_is_refused_naming_symbol(default):
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    errors = refused(services.watchlist_item_add, watchlist=default, symbol="btc")
    assert errors == {"symbol": ["Already on this list: BTC is on Watchlist."]}
    assert symbols_of(default) == ["BTC"]


def test_the_same_coin_may_be_on_two_lists(user, default):
    majors = services.watchlist_create(user=user, name="Majors")
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    services.watchlist_item_add(watchlist=majors, symbol="BTC")
    assert symbols_of(default) == symbols_of(majors) == ["BTC"]


@pytest.mark.parametrize("symbol", ["NOPE", "", "  ", None, 7, "B\x00TC"])
def test_an_unknown_symbol_is_refused_naming_it(default, symbol):
    errors = refused(services.watchlist_item_add, watchlist=default, symbol=symbol)
    assert list(errors) == ["symbol"]
    if symbol == "NOPE":
        assert "'NOPE'" in errors["symbol"][0]


def test_an_unlisted_coin_is_refused(default, coins):
    coins["SOL"].is_active = False
    coins["SOL"].save(update_fields=["is_active"])
    assert refused(services.watchlist_item_add, watchlist=default, symbol="SOL")["symbol"][0].startswith("Not listed")


def test_a_list_holds_at_most_500_coins(default):
    extra = coins_make(MAX_ITEMS + 1)
    items_make(default, extra[:MAX_ITEMS])
    errors = refused(services.watchlist_item_add, watchlist=default, symbol=extra[-1].symbol)
    assert errors["symbol"][0].startswith("The list is full: Watchlist holds 500 coins")
    assert WatchlistItem.objects.filter(watchlist=default).count() == 500
    services.watchlist_item_remove(watchlist=default, symbol=extra[0].symbol)
    assert services.watchlist_item_add(watchlist=default, symbol=extra[-1].symbol).position == MAX_ITEMS


def test_a_note_too_long_is_refused_naming_note(default):
    assert list(refused(services.watchlist_item_add, watchlist=default, symbol="BTC", note="x" * 501)) == ["note"]


def test_removing_a_coin_tells_the_list_alerts(default, synced):
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    services.watchlist_item_add(watchlist=default, symbol="ETH")
    services.watchlist_item_remove(watchlist=default, symbol="btc")
    assert symbols_of(default) == ["ETH"]
    assert synced == [default.pk] * 3


def test_removing_a_coin_not_on_the_list_is_404_naming_it(default):
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    with pytest.raises(Http404, match="ETH is not on Watchlist"):
        services.watchlist_item_remove(watchlist=default, symbol="eth")
    assert symbols_of(default) == ["BTC"]


# --- order -----------------------------------------------------------------------------------------


@pytest.fixture
def three(default) -> Watchlist:
    for symbol in ("BTC", "ETH", "SOL"):
        services.watchlist_item_add(watchlist=default, symbol=symbol)
    return default


def test_reordering_puts_the_coins_in_the_order_given(three):
    services.watchlist_order(watchlist=three, symbols=["sol", "BTC", "eth"])
    assert symbols_of(three) == ["SOL", "BTC", "ETH"]
    assert services.watchlist_item_add(watchlist=three, symbol="DOGE").position == 3


@pytest.mark.parametrize(
    ("symbols", "said"),
    [
        (["BTC", "ETH"], "missing: SOL"),
        (["BTC", "ETH", "SOL", "DOGE"], "not on the list: DOGE"),
        (["BTC", "ETH", "SOL", "btc"], "named more than once: BTC"),
        ("BTC,ETH,SOL", "Must be a list"),
        ([1, 2, 3], "Must be a list"),
    ],
)
def test_an_order_not_naming_each_coin_once_is_refused_naming_symbols(three, symbols, said):
    errors = refused(services.watchlist_order, watchlist=three, symbols=symbols)
    assert said in errors["symbols"][0]
    assert symbols_of(three) == ["BTC", "ETH", "SOL"]


# --- target and stop -------------------------------------------------------------------------------


def conditions(owner) -> list[tuple[str, str, float]]:
    rows = Alert.objects.filter(user=owner).order_by("id")
    return [(a.coin.symbol, a.condition["kind"], a.condition["level"]) for a in rows]


def test_a_target_is_a_crossing_up_alert_made_moved_and_deleted_with_it(user, default):
    item = services.watchlist_item_add(watchlist=default, symbol="BTC")
    services.watchlist_item_update(item=item, target_price=100000)
    made = item.target_alert_id
    assert conditions(user) == [("BTC", "crossing_up", 100000.0)]
    services.watchlist_item_update(item=item, target_price="105000.5")
    assert item.target_alert_id == made and conditions(user) == [("BTC", "crossing_up", 105000.5)]
    services.watchlist_item_update(item=item, target_price=None)
    assert conditions(user) == [] and WatchlistItem.objects.get(pk=item.pk).target_alert_id is None


def test_a_stop_is_a_crossing_down_alert_beside_the_target(user, default):
    item = services.watchlist_item_add(watchlist=default, symbol="ETH", target_price=3500, stop_price=2500)
    stored = WatchlistItem.objects.get(pk=item.pk)
    assert (stored.target_price, stored.stop_price) == (3500.0, 2500.0)
    assert conditions(user) == [("ETH", "crossing_up", 3500.0), ("ETH", "crossing_down", 2500.0)]
    assert {stored.target_alert_id, stored.stop_alert_id} == set(Alert.objects.values_list("id", flat=True))


def test_a_note_alone_leaves_the_prices_and_alerts(user, default):
    item = services.watchlist_item_add(watchlist=default, symbol="ETH", target_price=3500)
    services.watchlist_item_update(item=item, note="later")
    stored = WatchlistItem.objects.get(pk=item.pk)
    assert (stored.note, stored.target_price) == ("later", 3500.0)
    assert conditions(user) == [("ETH", "crossing_up", 3500.0)]


def test_an_alert_deleted_elsewhere_is_made_again_when_the_target_moves(user, default):
    item = services.watchlist_item_add(watchlist=default, symbol="BTC", target_price=100000)
    Alert.objects.all().delete()
    item.refresh_from_db()
    services.watchlist_item_update(item=item, target_price=110000)
    assert conditions(user) == [("BTC", "crossing_up", 110000.0)]


@pytest.mark.parametrize("price", [0, -5, "abc", float("inf"), True, 1e13, [1]])
def test_a_bad_price_is_refused_naming_it_and_nothing_is_made(user, default, price):
    item = services.watchlist_item_add(watchlist=default, symbol="BTC")
    assert list(refused(services.watchlist_item_update, item=item, stop_price=price)) == ["stop_price"]
    assert conditions(user) == []


def test_a_target_past_the_users_alert_limit_is_refused_and_the_coin_not_added(user, default, settings):
    settings.ALERTS_PER_USER = 0
    errors = refused(services.watchlist_item_add, watchlist=default, symbol="BTC", target_price=100000)
    assert errors["target_price"][0].startswith("Its alert was refused: You have 0 active alerts")
    assert symbols_of(default) == []


def test_removing_a_coin_deletes_its_target_and_stop_alerts(user, default):
    services.watchlist_item_add(watchlist=default, symbol="BTC", target_price=100000, stop_price=80000)
    services.watchlist_item_add(watchlist=default, symbol="ETH", target_price=3500)
    services.watchlist_item_remove(watchlist=default, symbol="BTC")
    assert conditions(user) == [("ETH", "crossing_up", 3500.0)]


def test_a_user_has_at_most_100_lists(user, default):
    Watchlist.objects.bulk_create(Watchlist(user=user, name=f"List {n}", position=n) for n in range(1, 100))
    errors = refused(services.watchlist_create, user=user, name="One more")
    assert errors["name"][0].startswith("Too many lists: you have 100")
