"""Watchlist alerts through the API: the answer's shape, what is refused (and named), ownership, the list's
query count with many coins, the history naming each coin, bulk actions, export and import."""

from __future__ import annotations

import pytest

from alerts.models import Alert, AlertEvent
from alerts.tests.engine_helpers import T0
from watchlists.models import Watchlist, WatchlistItem

pytestmark = pytest.mark.django_db
UP_5 = {"kind": "moving_up", "percent": 5.0, "bars": 1}


@pytest.fixture
def majors(user, coins):
    watchlist = Watchlist.objects.create(user=user, name="Majors", position=1)
    for symbol in ("BTC", "ETH", "SOL"):
        WatchlistItem.objects.create(watchlist=watchlist, coin=coins[symbol], added_price=100)
    return watchlist


def post(api, **body):
    return api.post("/api/alerts", {"condition": UP_5, **body}, format="json")


def test_an_alert_on_a_watchlist_answers_with_the_list_and_no_symbol(api, majors):
    response = post(api, watchlist=majors.pk)
    assert response.status_code == 201
    answer = response.json()
    assert (answer["watchlist"], answer["symbol"]) == (majors.pk, None)
    assert answer["condition"] == UP_5 and answer["condition_text"]
    assert (answer["status"], answer["fire_count"], answer["last_fired_at"]) == ("active", 0, None)
    assert api.get(f"/api/alerts/{answer['id']}").json() == answer
    members = Alert.objects.filter(parent_id=answer["id"])
    assert sorted(members.values_list("coin__symbol", flat=True)) == ["BTC", "ETH", "SOL"]


def test_the_list_shows_the_watchlist_alert_alone_with_its_coins_firings(api, majors):
    alert_id = post(api, watchlist=majors.pk).json()["id"]
    member = Alert.objects.get(parent_id=alert_id, coin__symbol="ETH")
    Alert.objects.filter(pk=member.pk).update(fire_count=2, last_fired_at="2026-12-07T00:01:05Z")
    Alert.objects.filter(parent_id=alert_id, coin__symbol="BTC").update(
        fire_count=1, last_fired_at="2026-12-07T00:00:30Z"
    )
    results = api.get("/api/alerts").json()["results"]
    assert [a["id"] for a in results] == [alert_id]
    assert (results[0]["fire_count"], results[0]["last_fired_at"]) == (3, "2026-12-07T00:01:05.000Z")
    assert api.get(f"/api/alerts/{member.pk}").status_code == 404  # a member is not an alert of the user's
    assert [a["id"] for a in api.get("/api/alerts", {"watchlist": majors.pk}).json()["results"]] == [alert_id]


def test_the_lists_query_count_does_not_grow_with_coins(api, user, majors, coins, django_assert_num_queries):
    post(api, watchlist=majors.pk)
    post(api, symbol="BTC", condition={"kind": "crossing_up", "level": 100})
    with django_assert_num_queries(3):  # the count, the page with coins, lists and firings, the channels
        assert len(api.get("/api/alerts").json()["results"]) == 2
    big = Watchlist.objects.create(user=user, name="All", position=2)
    for coin in coins.values():
        WatchlistItem.objects.create(watchlist=big, coin=coin, added_price=1)
    post(api, watchlist=big.pk)
    post(api, watchlist=big.pk)
    with django_assert_num_queries(3):
        assert len(api.get("/api/alerts").json()["results"]) == 4


def test_the_history_names_each_coin(api, majors):
    alert_id = post(api, watchlist=majors.pk).json()["id"]
    for symbol, second in (("ETH", 5), ("SOL", 9)):
        member = Alert.objects.get(parent_id=alert_id, coin__symbol=symbol)
        AlertEvent.objects.create(alert=member, key=f"t:{second}", fired_at=f"2026-12-07T00:00:0{second}Z", price=1.0)
    history = api.get(f"/api/alerts/{alert_id}/history").json()
    assert [(e["symbol"], e["fired_at"]) for e in history["results"]] == [
        ("SOL", "2026-12-07T00:00:09.000Z"),
        ("ETH", "2026-12-07T00:00:05.000Z"),
    ]


@pytest.mark.parametrize(
    "body",
    [{}, {"symbol": "BTC", "watchlist": "MINE"}, {"symbol": None, "watchlist": None}],
    ids=["neither", "both", "both-null"],
)
def test_exactly_one_of_symbol_and_watchlist(api, majors, body):
    if body.get("watchlist") == "MINE":
        body = {**body, "watchlist": majors.pk}
    response = post(api, **body)
    assert response.status_code == 400
    errors = response.json()
    assert {"symbol", "watchlist"} <= set(errors) and "exactly one" in errors["watchlist"][0]
    assert not Alert.objects.exists()


@pytest.mark.parametrize("watchlist", [0, -3, 1.5, "3", True, [1], 2**63])
def test_a_watchlist_that_is_not_an_id_is_refused_by_name(api, majors, watchlist):
    response = post(api, watchlist=watchlist)
    assert response.status_code == 400 and "watchlist" in response.json()


def test_another_users_watchlist_is_refused_by_name(api, other):
    theirs = Watchlist.objects.get(user=other)  # the default list made at sign-up
    response = post(api, watchlist=theirs.pk)
    assert response.status_code == 400
    assert response.json()["watchlist"] == [
        f"No watchlist of yours has id {theirs.pk}: GET /api/watchlists lists yours."
    ]
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "crossing_up", "level": 100},
        {"kind": "price_above", "level": 100},
        {"kind": "entering_channel", "low": 1, "high": 2},
        {"kind": "all_of", "conditions": [{"kind": "rsi_above", "level": 70}, {"kind": "price_below", "level": 5}]},
    ],
)
def test_a_price_level_is_refused_on_a_watchlist(api, majors, condition):
    response = post(api, watchlist=majors.pk, condition=condition)
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "condition"}
    assert "moving_up" in response.json()["condition"][0]


@pytest.mark.parametrize(
    "condition",
    [
        {"kind": "moving_down", "percent": 3, "bars": 5},
        {"kind": "rsi_crosses_below", "level": 30},
        {
            "kind": "all_of",
            "conditions": [{"kind": "rsi_above", "level": 70}, {"kind": "volume_spike", "factor": 3, "bars": 20}],
        },
    ],
)
def test_percent_and_indicator_conditions_are_taken_on_a_watchlist(api, majors, condition):
    assert post(api, watchlist=majors.pk, condition=condition).status_code == 201


def test_a_price_level_is_refused_when_editing_a_watchlist_alert(api, majors):
    alert_id = post(api, watchlist=majors.pk).json()["id"]
    response = api.patch(f"/api/alerts/{alert_id}", {"condition": {"kind": "crossing", "level": 3}}, format="json")
    assert response.status_code == 400 and "condition" in response.json()


def test_an_alert_stays_on_a_coin_or_on_a_watchlist(api, majors):
    on_list = post(api, watchlist=majors.pk).json()["id"]
    on_coin = post(api, symbol="BTC").json()["id"]
    response = api.patch(f"/api/alerts/{on_list}", {"symbol": "BTC"}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"detail", "symbol"}
    response = api.patch(f"/api/alerts/{on_coin}", {"watchlist": majors.pk}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"detail", "watchlist"}


def test_replacing_a_watchlist_alert_keeps_it_on_its_list(api, majors):
    alert_id = post(api, watchlist=majors.pk).json()["id"]
    body = {"watchlist": majors.pk, "condition": {"kind": "rsi_above", "level": 60}, "timeframe": "1h"}
    answer = api.put(f"/api/alerts/{alert_id}", body, format="json").json()
    assert (answer["watchlist"], answer["timeframe"]) == (majors.pk, "1h")
    assert set(Alert.objects.filter(parent_id=alert_id).values_list("timeframe", "kind")) == {("1h", "rsi_above")}


def test_another_users_watchlist_alert_is_404_on_every_method(api, other, coins):
    theirs = Watchlist.objects.get(user=other)
    WatchlistItem.objects.create(watchlist=theirs, coin=coins["BTC"], added_price=1)
    from alerts.services import alert_create

    alert = alert_create(user=other, data={"watchlist": theirs.pk, "condition": UP_5})
    member = Alert.objects.get(parent=alert)
    for pk in (alert.pk, member.pk):
        assert api.get(f"/api/alerts/{pk}").status_code == 404
        assert api.patch(f"/api/alerts/{pk}", {"note": "x"}, format="json").status_code == 404
        assert api.delete(f"/api/alerts/{pk}").status_code == 404
        assert api.post(f"/api/alerts/{pk}/pause").status_code == 404
        assert api.get(f"/api/alerts/{pk}/history").status_code == 404
    assert api.post("/api/alerts/bulk", {"action": "delete", "ids": [alert.pk, member.pk]}, format="json").json() == {
        "action": "delete",
        "count": 0,
    }
    assert Alert.objects.count() == 2


def test_bulk_pause_and_delete_count_the_watchlist_alert_once(api, majors):
    alert_id = post(api, watchlist=majors.pk).json()["id"]
    paused = api.post("/api/alerts/bulk", {"action": "pause", "ids": [alert_id]}, format="json").json()
    assert paused["count"] == 1
    assert set(Alert.objects.values_list("status", flat=True)) == {"paused"}
    deleted = api.post("/api/alerts/bulk", {"action": "delete", "ids": [alert_id]}, format="json").json()
    assert deleted["count"] == 1 and not Alert.objects.exists()


def test_a_member_id_in_bulk_is_ignored(api, majors):
    alert_id = post(api, watchlist=majors.pk).json()["id"]
    member = Alert.objects.filter(parent_id=alert_id).first()
    answer = api.post("/api/alerts/bulk", {"action": "pause", "ids": [member.pk]}, format="json").json()
    assert answer["count"] == 0 and set(Alert.objects.values_list("status", flat=True)) == {"active"}


def test_export_then_import_round_trip_with_a_watchlist_alert(api, majors):
    post(api, watchlist=majors.pk, frequency="once_per_bar", timeframe="15m", note="majors")
    post(api, symbol="ETH", condition={"kind": "crossing_down", "level": 50})
    exported = api.get("/api/alerts/export").json()
    assert exported["alerts"][1]["watchlist"] == majors.pk and exported["alerts"][1]["symbol"] is None
    assert exported["alerts"][0]["watchlist"] is None and exported["alerts"][0]["symbol"] == "ETH"
    Alert.objects.all().delete()
    imported = api.post("/api/alerts/import", exported, format="json")
    assert imported.status_code == 201 and imported.json()["count"] == 2
    assert api.get("/api/alerts/export").json() == exported
    parent = Alert.objects.get(watchlist=majors)
    assert sorted(parent.members.values_list("coin__symbol", "timeframe")) == [
        ("BTC", "15m"),
        ("ETH", "15m"),
        ("SOL", "15m"),
    ]


def test_an_import_naming_another_users_watchlist_imports_nothing(api, other, majors):
    theirs = Watchlist.objects.get(user=other)
    items = [{"watchlist": majors.pk, "condition": UP_5}, {"watchlist": theirs.pk, "condition": UP_5}]
    response = api.post("/api/alerts/import", {"alerts": items}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"detail", "alerts[1].watchlist"}
    assert not Alert.objects.exists()


def test_a_backtest_refuses_a_watchlist(api, majors):
    body = {"watchlist": majors.pk, "condition": UP_5}
    response = api.post("/api/alerts/backtest", body, format="json")
    assert response.status_code == 400 and "watchlist" in response.json()


def test_a_firing_notification_names_the_coin_and_the_watchlist_alert(api, majors, coins):
    from alerts.engine import AlertEngine
    from alerts.tests.engine_helpers import bars_store, prices

    alert_id = post(api, watchlist=majors.pk, frequency="every_time", cooldown=0).json()["id"]
    bars_store(coins["SOL"], [100], start=T0)
    AlertEngine().evaluate_prices(prices(("SOL", 100, 110, T0 + 61)))
    [notification] = api.get("/api/notifications").json()["results"]
    assert (notification["alert_id"], notification["symbol"], notification["price"]) == (alert_id, "SOL", 110.0)
