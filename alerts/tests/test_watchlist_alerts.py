"""Alerts on a watchlist, through the real engine: each coin on the list fires (and names itself), a coin
added is covered from then on, a coin removed no longer fires; pausing, resuming, editing and deleting the
watchlist alert act on every coin."""

from __future__ import annotations

import pytest

from alerts.engine import AlertEngine
from alerts.models import Alert, AlertEvent, Channel, Delivery, Notification
from alerts.selectors import alert_events, alerts_list
from alerts.services import alert_create, alert_delete, alert_update, alerts_pause, alerts_resume
from alerts.tests.engine_helpers import T0, bars_store, prices
from alerts.watchlist_alerts import watchlist_alerts_sync
from watchlists.models import Watchlist, WatchlistItem

pytestmark = pytest.mark.django_db
UP_5 = {"kind": "moving_up", "percent": 5, "bars": 1}


@pytest.fixture
def majors(user, coins):
    """A list of BTC and ETH; every test coin closed at 100 in the bar opened at T0."""
    for coin in coins.values():
        bars_store(coin, [100], start=T0)
    watchlist = Watchlist.objects.create(user=user, name="Majors", position=1)
    for symbol in ("BTC", "ETH"):
        WatchlistItem.objects.create(watchlist=watchlist, coin=coins[symbol], added_price=100)
    return watchlist


def on_list(user, watchlist, **fields) -> Alert:
    body = {"watchlist": watchlist.pk, "condition": UP_5, "frequency": "every_time", "cooldown": 0, **fields}
    return alert_create(user=user, data=body)


def all_up(at: float, price: float = 106.0):
    """Every test coin from 100 to ``price`` (+6 % on the T0 close by default) at ``at`` (epoch s)."""
    return prices(*((symbol, 100, price, at) for symbol in ("BTC", "ETH", "SOL", "DOGE", "PEPE")))


def fired_coins(parent: Alert) -> list[str]:
    """The coins of the watchlist alert's firings, oldest first, as its history tells them."""
    return [e.alert.coin.symbol for e in alert_events(alert=parent).order_by("fired_at", "alert__coin__symbol")]


def sync_committed(capture, watchlist) -> None:
    """The list's alerts synced, the transaction committed (so engines see the version move)."""
    with capture(execute=True):
        watchlist_alerts_sync(watchlist_id=watchlist.pk)


def test_each_coin_on_the_list_fires_and_no_other(user, majors):
    parent = on_list(user, majors)
    AlertEngine().evaluate_prices(all_up(T0 + 61))
    assert fired_coins(parent) == ["BTC", "ETH"]
    assert not AlertEvent.objects.filter(alert=parent).exists()  # the watchlist alert itself never fires


def test_only_coins_that_meet_the_condition_fire(user, majors):
    parent = on_list(user, majors)
    # Forming bar T0+60, reference the T0 close 100: BTC +5.0 % holds, ETH +4.9 % does not.
    AlertEngine().evaluate_prices(prices(("BTC", 100, 105, T0 + 61), ("ETH", 100, 104.9, T0 + 61)))
    assert fired_coins(parent) == ["BTC"]


def test_a_coin_added_fires_from_then_on(user, majors, coins, django_capture_on_commit_callbacks):
    parent = on_list(user, majors)
    engine = AlertEngine()
    engine.evaluate_prices(all_up(T0 + 61))
    WatchlistItem.objects.create(watchlist=majors, coin=coins["SOL"], added_price=100)
    sync_committed(django_capture_on_commit_callbacks, majors)
    engine.evaluate_prices(all_up(T0 + 62))  # the same engine, running: it reloads and covers SOL
    assert fired_coins(parent) == ["BTC", "ETH", "BTC", "ETH", "SOL"]
    sol = AlertEvent.objects.get(alert__coin=coins["SOL"])
    assert sol.alert.parent_id == parent.pk and sol.fired_at.timestamp() == T0 + 62


def test_a_coin_removed_no_longer_fires(user, majors, coins, django_capture_on_commit_callbacks):
    parent = on_list(user, majors)
    engine = AlertEngine()
    engine.evaluate_prices(all_up(T0 + 61))
    WatchlistItem.objects.filter(watchlist=majors, coin=coins["ETH"]).delete()
    sync_committed(django_capture_on_commit_callbacks, majors)
    engine.evaluate_prices(all_up(T0 + 62))
    # ETH's part went with its firings; BTC fired at both updates.
    assert fired_coins(parent) == ["BTC", "BTC"]
    assert list(parent.members.values_list("coin__symbol", flat=True)) == ["BTC"]


def test_a_sync_with_no_change_changes_nothing(user, majors, django_capture_on_commit_callbacks):
    parent = on_list(user, majors)
    before = sorted(parent.members.values_list("pk", "coin_id"))
    with django_capture_on_commit_callbacks() as callbacks:
        watchlist_alerts_sync(watchlist_id=majors.pk)
    assert sorted(parent.members.values_list("pk", "coin_id")) == before
    assert callbacks == []  # no reload asked for


def test_each_firing_names_its_coin_in_the_notification_and_the_message(user, majors):
    parent = on_list(user, majors, message="{{symbol}} up at {{price}} (alert {{alert_id}})")
    AlertEngine().evaluate_prices(prices(("ETH", 100, 106, T0 + 61)))
    notification = Notification.objects.get()
    assert (notification.symbol, notification.alert_id) == ("ETH", parent.pk)
    assert notification.message == f"ETH up at 106 (alert {parent.pk})"
    assert AlertEvent.objects.get().message == notification.message


def test_a_firing_is_delivered_to_the_watchlist_alerts_channels(user, majors):
    channel = Channel.objects.create(user=user, kind="webhook", url="https://example.com/hook", secret="whsec_x")
    parent = on_list(user, majors, channels=[channel.pk])
    AlertEngine().evaluate_prices(prices(("BTC", 100, 106, T0 + 61)))
    delivery = Delivery.objects.get()
    assert (delivery.channel_id, delivery.event.alert.coin.symbol) == (channel.pk, "BTC")
    assert delivery.event.alert.parent_id == parent.pk


def test_only_once_is_once_per_coin(user, majors):
    parent = on_list(user, majors, frequency="only_once")
    engine = AlertEngine()
    engine.evaluate_prices(prices(("BTC", 100, 106, T0 + 61)))
    engine.evaluate_prices(all_up(T0 + 62))
    assert fired_coins(parent) == ["BTC", "ETH"]
    parent.refresh_from_db()
    assert parent.status == "active"


def test_pausing_the_watchlist_alert_pauses_every_coin_and_resuming_rearms_them(
    user, majors, django_capture_on_commit_callbacks
):
    parent = on_list(user, majors)
    engine = AlertEngine()
    engine.load()
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_pause(user=user, ids=[parent.pk]) == 1
    assert set(Alert.objects.values_list("status", flat=True)) == {"paused"}
    engine.evaluate_prices(all_up(T0 + 61))
    assert fired_coins(parent) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_resume(user=user, ids=[parent.pk]) == 1
    engine.evaluate_prices(all_up(T0 + 62))
    assert fired_coins(parent) == ["BTC", "ETH"]


def test_a_coin_added_to_a_paused_watchlist_alert_is_paused_too(user, majors, coins):
    parent = on_list(user, majors)
    alerts_pause(user=user, ids=[parent.pk])
    WatchlistItem.objects.create(watchlist=majors, coin=coins["SOL"], added_price=100)
    watchlist_alerts_sync(watchlist_id=majors.pk)
    assert dict(parent.members.values_list("coin__symbol", "status")) == {
        "BTC": "paused",
        "ETH": "paused",
        "SOL": "paused",
    }


def test_resuming_rearms_a_spent_coin_of_an_active_watchlist_alert(user, majors):
    parent = on_list(user, majors, frequency="only_once")
    AlertEngine().evaluate_prices(prices(("BTC", 100, 106, T0 + 61)))
    assert dict(parent.members.values_list("coin__symbol", "status")) == {"BTC": "triggered", "ETH": "active"}
    assert alerts_resume(user=user, ids=[parent.pk]) == 1
    assert set(parent.members.values_list("status", flat=True)) == {"active"}


def test_deleting_the_watchlist_alert_deletes_every_coin(user, majors, django_capture_on_commit_callbacks):
    parent = on_list(user, majors)
    engine = AlertEngine()
    engine.load()
    with django_capture_on_commit_callbacks(execute=True):
        alert_delete(alert=parent)
    assert not Alert.objects.exists()
    assert engine.evaluate_prices(all_up(T0 + 61)) == []


def test_deleting_the_watchlist_deletes_its_alerts(user, majors, django_capture_on_commit_callbacks):
    on_list(user, majors)
    engine = AlertEngine()
    engine.load()
    with django_capture_on_commit_callbacks(execute=True):
        majors.delete()
        watchlist_alerts_sync(watchlist_id=majors.pk)
    assert not Alert.objects.exists()
    assert engine.evaluate_prices(all_up(T0 + 61)) == []


def test_editing_the_watchlist_alert_edits_every_coin(user, majors, django_capture_on_commit_callbacks):
    parent = on_list(user, majors)
    engine = AlertEngine()
    engine.load()
    with django_capture_on_commit_callbacks(execute=True):
        alert_update(alert=parent, data={"condition": {"kind": "moving_up", "percent": 7, "bars": 1}}, partial=True)
    assert {m.condition["percent"] for m in parent.members.all()} == {7}
    engine.evaluate_prices(prices(("BTC", 100, 106, T0 + 61), ("ETH", 100, 107, T0 + 61)))
    assert fired_coins(parent) == ["ETH"]


def test_moving_the_alert_to_another_list_follows_that_list(user, majors, coins):
    parent = on_list(user, majors)
    other = Watchlist.objects.create(user=user, name="Memes", position=2)
    WatchlistItem.objects.create(watchlist=other, coin=coins["DOGE"], added_price=100)
    WatchlistItem.objects.create(watchlist=other, coin=coins["ETH"], added_price=100)
    alert_update(alert=parent, data={"watchlist": other.pk}, partial=True)
    AlertEngine().evaluate_prices(all_up(T0 + 61))
    assert fired_coins(parent) == ["DOGE", "ETH"]


def test_an_alert_on_an_empty_list_covers_a_coin_added(user, coins):
    for coin in coins.values():
        bars_store(coin, [100], start=T0)
    empty = Watchlist.objects.create(user=user, name="Empty", position=1)
    parent = on_list(user, empty)
    AlertEngine().evaluate_prices(all_up(T0 + 61))
    WatchlistItem.objects.create(watchlist=empty, coin=coins["PEPE"], added_price=100)
    watchlist_alerts_sync(watchlist_id=empty.pk)
    AlertEngine().evaluate_prices(all_up(T0 + 62))
    assert fired_coins(parent) == ["PEPE"]


def test_members_are_not_listed_nor_counted_as_the_users_alerts(user, majors, settings):
    parent = on_list(user, majors)
    assert list(alerts_list(user=user)) == [parent]
    settings.ALERTS_PER_USER = 2  # the watchlist alert counts once, whatever its list's size
    on_list(user, majors)
    with pytest.raises(Exception, match="ALERTS_PER_USER"):
        on_list(user, majors)


def test_a_delivery_tells_the_coin_and_links_the_watchlist_alert(user, majors, api, settings):
    from alerts.delivery_messages import message_for

    settings.SITE_URL = "https://board.example.com"
    channel = Channel.objects.create(user=user, kind="webhook", url="https://example.com/hook", secret="whsec_x")
    parent = on_list(user, majors, channels=[channel.pk])
    AlertEngine().evaluate_prices(prices(("ETH", 100, 106, T0 + 61)))
    message = message_for(Delivery.objects.select_related("event__alert__coin").get())
    assert message.subject.startswith("ETH: ") and message.placeholders["symbol"] == "ETH"
    assert (
        message.placeholders["alert_id"] == parent.pk
        and message.link == f"https://board.example.com/alerts/{parent.pk}"
    )
    answer = api.get("/api/notifications/deliveries", {"alert": parent.pk}).json()
    assert [(d["alert"], d["symbol"]) for d in answer["results"]] == [(parent.pk, "ETH")]
