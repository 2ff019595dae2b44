"""Watchlist reads: the lists with their counts, ownership, the items' figures (changes over 7 and 30
days worked by hand from candles written here), sparklines, orderings, the stars on coin rows, and a
fixed number of queries however many coins a list holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.http import Http404

from scalpaiboard.api import ApplicationError
from watchlists import services
from watchlists.models import Watchlist, WatchlistItem
from watchlists.selectors import (
    ITEM_FIELDS,
    starred_symbols,
    watchlist_default_get,
    watchlist_get,
    watchlist_items,
    watchlists_list,
)
from watchlists.tests.watchlist_fixtures import candle_add, coins_make, items_make

NOW = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def by_symbol(rows: list[dict]) -> dict[str, dict]:
    return {row["symbol"]: row for row in rows}


# --- lists -----------------------------------------------------------------------------------------


def test_lists_come_default_first_with_their_item_counts(user, default):
    memes = services.watchlist_create(user=user, name="Memes")
    services.watchlist_item_add(watchlist=memes, symbol="DOGE")
    services.watchlist_item_add(watchlist=memes, symbol="PEPE")
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    Watchlist.objects.filter(pk=default.pk).update(position=9)  # the default stays first whatever its place
    assert [(w.name, w.item_count) for w in watchlists_list(user=user)] == [("Watchlist", 1), ("Memes", 2)]


def test_another_users_list_or_a_bad_id_is_404(user, other, default):
    theirs = watchlist_default_get(user=other)
    assert watchlist_get(user=user, id=str(default.pk)) == default
    for id in (theirs.pk, "abc", None, 0, -1, 2**63, "1e3"):
        with pytest.raises(Http404):
            watchlist_get(user=user, id=id)


def test_stars_name_the_lists_holding_each_coin(user, other, default):
    majors = services.watchlist_create(user=user, name="Majors")
    for watchlist, symbol in ((default, "BTC"), (majors, "BTC"), (majors, "ETH")):
        services.watchlist_item_add(watchlist=watchlist, symbol=symbol)
    services.watchlist_item_add(watchlist=watchlist_default_get(user=other), symbol="SOL")
    assert starred_symbols(user=user) == {"BTC": [default.pk, majors.pk], "ETH": [majors.pk]}


# --- items and their figures -----------------------------------------------------------------------


def test_an_item_has_exactly_the_api_fields_from_its_coin(default, coins):
    item = services.watchlist_item_add(watchlist=default, symbol="BTC", note="core", target_price=100000)
    coins["BTC"].price = 99000.0
    coins["BTC"].save(update_fields=["price"])
    (row,) = watchlist_items(watchlist=default, now=NOW)
    item.refresh_from_db()
    assert row == {
        "symbol": "BTC",
        "name": "Bitcoin",
        "price": 99000.0,
        "change24h": 2.0,
        "change7d": None,  # no candles at all
        "change30d": None,
        "change_since_added": pytest.approx(10.0),  # 90,000 -> 99,000
        "volume24h": 2.0e9,
        "added_at": item.added_at,
        "added_price": 90000.0,
        "note": "core",
        "target_price": 100000.0,
        "stop_price": None,
        "target_alert": item.target_alert_id,
        "stop_alert": None,
        "position": 0,
    }
    assert tuple(row) == ITEM_FIELDS


def test_changes_over_7_and_30_days_are_against_the_closes_then(default, coins):
    eth = coins["ETH"]  # price 3000
    services.watchlist_item_add(watchlist=default, symbol="ETH")
    # 7 days before 12:30 is 12:30; the last hourly bar closed by then opened at 11:00 (closed 12:00).
    candle_add(eth, "1h", NOW - 7 * DAY - 90 * 60 * timedelta(seconds=1), 2400.0)  # opened 11:00
    candle_add(eth, "1h", NOW - 7 * DAY - 30 * timedelta(minutes=1), 9999.0)  # opened 12:00: closes 13:00, later
    candle_add(eth, "1h", NOW - 7 * DAY - 150 * timedelta(minutes=1), 1111.0)  # opened 10:00: older
    # No hourly bars 30 days back: the last daily bar closed by then (opened 2 days before midnight's).
    candle_add(eth, "1d", datetime(2026, 11, 6, tzinfo=UTC), 3750.0)  # closes Nov 7 00:00 <= Nov 7 12:30
    candle_add(eth, "1d", datetime(2026, 11, 7, tzinfo=UTC), 8888.0)  # closes Nov 8: after the instant
    (row,) = watchlist_items(watchlist=default, now=NOW)
    assert row["change7d"] == pytest.approx((3000 - 2400) / 2400 * 100)  # +25 %
    assert row["change30d"] == pytest.approx((3000 - 3750) / 3750 * 100)  # -20 %


def test_history_older_than_a_day_before_the_instant_is_not_taken(default, coins):
    services.watchlist_item_add(watchlist=default, symbol="ETH")
    candle_add(coins["ETH"], "1h", NOW - 9 * DAY, 2400.0)
    candle_add(coins["ETH"], "1d", datetime(2026, 11, 1, tzinfo=UTC), 3750.0)
    (row,) = watchlist_items(watchlist=default, now=NOW)
    assert (row["change7d"], row["change30d"]) == (None, None)


def test_a_sparkline_is_the_hourly_closes_of_the_last_7_days(default, coins):
    services.watchlist_item_add(watchlist=default, symbol="SOL")
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    hour = NOW.replace(minute=0)  # 12:00, the forming bar's open: none stored
    for n in range(1, 170):  # bars opened 11:00 back to 169 hours before 12:00
        candle_add(coins["SOL"], "1h", hour - n * HOUR, float(n))
    candle_add(coins["SOL"], "1d", hour - DAY, 5.0)  # not hourly
    rows = by_symbol(watchlist_items(watchlist=default, sparkline=True, now=NOW))
    assert rows["SOL"]["sparkline"] == [float(n) for n in range(168, 0, -1)]  # oldest (168 h back) first
    assert rows["BTC"]["sparkline"] == []
    assert "sparkline" not in watchlist_items(watchlist=default, now=NOW)[0]


# --- ordering --------------------------------------------------------------------------------------


@pytest.fixture
def five(default, coins) -> Watchlist:
    for symbol in ("SOL", "BTC", "PEPE", "ETH", "DOGE"):
        services.watchlist_item_add(watchlist=default, symbol=symbol)
    candle_add(coins["BTC"], "1h", NOW - 7 * DAY - 90 * timedelta(minutes=1), 45000.0)  # +100 %
    candle_add(coins["SOL"], "1h", NOW - 7 * DAY - 90 * timedelta(minutes=1), 280.0)  # -50 %
    return default


def order(watchlist: Watchlist, ordering: str | None) -> list[str]:
    return [row["symbol"] for row in watchlist_items(watchlist=watchlist, ordering=ordering, now=NOW)]


def test_items_come_in_the_lists_order_unless_sorted(five):
    assert order(five, None) == ["SOL", "BTC", "PEPE", "ETH", "DOGE"]
    assert order(five, "position") == ["SOL", "BTC", "PEPE", "ETH", "DOGE"]
    assert order(five, "-price") == ["BTC", "ETH", "SOL", "DOGE", "PEPE"]
    assert order(five, "change24h") == ["ETH", "DOGE", "PEPE", "BTC", "SOL"]  # -4, -1, 0.5, 2, 4
    assert order(five, "name") == ["BTC", "DOGE", "ETH", "PEPE", "SOL"]  # Bitcoin, Dogecoin, ...


def test_empty_values_sort_last_both_ways(five):
    assert order(five, "change7d") == ["SOL", "BTC", "PEPE", "ETH", "DOGE"]
    assert order(five, "-change7d") == ["BTC", "SOL", "PEPE", "ETH", "DOGE"]


def test_an_unknown_ordering_is_refused_naming_ordering(default):
    with pytest.raises(ApplicationError) as raised:
        watchlist_items(watchlist=default, ordering="coin__user__password")
    assert list(raised.value.extra) == ["ordering"]


# --- queries ---------------------------------------------------------------------------------------


def test_the_items_take_the_same_queries_for_1_coin_as_for_200(default, django_assert_num_queries):
    made = coins_make(200)
    for coin in made:
        candle_add(coin, "1h", NOW - 2 * HOUR, 11.0)
        candle_add(coin, "1h", NOW - 7 * DAY - 2 * HOUR, 8.0)
    items_make(default, made[:1])
    with django_assert_num_queries(3):  # the items with their coins, the closes 7 and 30 days ago, the sparklines
        one = watchlist_items(watchlist=default, sparkline=True, ordering="-change7d", now=NOW)
    with django_assert_num_queries(1):  # the closes and sparklines of this hour are cached
        watchlist_items(watchlist=default, sparkline=True, ordering="-change7d", now=NOW)
    WatchlistItem.objects.all().delete()
    items_make(default, made)
    later = NOW + HOUR  # a new hour: nothing cached
    with django_assert_num_queries(3):
        many = watchlist_items(watchlist=default, sparkline=True, ordering="-change7d", now=later)
    with django_assert_num_queries(1):
        assert watchlist_items(watchlist=default, sparkline=True, ordering="-change7d", now=later) == many
    assert len(one) == 1 and len(many) == 200
    assert one[0]["change7d"] == pytest.approx(25.0) and one[0]["sparkline"] == [11.0]


def test_a_new_hour_reads_the_bars_closed_since(default, coins):
    services.watchlist_item_add(watchlist=default, symbol="SOL")
    hour = NOW.replace(minute=0)
    candle_add(coins["SOL"], "1h", hour - 2 * HOUR, 1.0)
    assert watchlist_items(watchlist=default, sparkline=True, now=NOW)[0]["sparkline"] == [1.0]
    candle_add(coins["SOL"], "1h", hour - HOUR, 2.0)  # the 11:00 bar, stored late
    assert watchlist_items(watchlist=default, sparkline=True, now=NOW)[0]["sparkline"] == [1.0]  # this hour's, kept
    assert watchlist_items(watchlist=default, sparkline=True, now=NOW + HOUR)[0]["sparkline"] == [1.0, 2.0]
