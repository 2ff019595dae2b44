"""Watchlist pages: the page and its HTMX table (figures, sparklines, sorting), lists made, renamed and
deleted, coins added, edited inline, reordered and removed, the star on coin rows and the coin page,
the dashboard filtered to a list, and another user's list answering 404 everywhere."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from alerts.models import Alert
from markets.models import Coin
from watchlists.models import Watchlist, WatchlistItem
from watchlists.services import watchlist_create, watchlist_item_add, watchlist_item_update
from watchlists.tests.watchlist_fixtures import candle_add, hours_back

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict:
    return {**HTMX, "HTTP_HX_TARGET": target}


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def rows_of(html: str) -> list[str]:
    """The symbols of the table's rows, in order."""
    return re.findall(r'<tr id="item-(\w+)" data-symbol=', html)


def cell(html: str, symbol: str, change: str) -> str:
    """The text of a row's change cell (7d, 30d, added)."""
    row = html[html.index(f'<tr id="item-{symbol}"') :]
    return re.search(rf'data-change="{change}"[^>]*>([^<]*)<', row).group(1)


# --- the page ----------------------------------------------------------------------------------


def test_the_menu_has_the_watchlist_live_and_no_longer_coming_soon(signed_in):
    html = signed_in.get("/").content.decode()
    assert '<a class="nav-item " href="/watchlist">Watchlist</a>' in html
    assert "Watchlist <small>soon</small>" not in html
    try:  # the portfolio's page lands on its own: the menu links it once it exists, and never breaks before
        portfolio = reverse("portfolio")
    except NoReverseMatch:
        assert ">Portfolio</a>" not in html
    else:
        assert f'href="{portfolio}">Portfolio</a>' in html
    page = signed_in.get("/watchlist").content.decode()
    assert '<a class="nav-item active" href="/watchlist">Watchlist</a>' in page


def test_a_visitor_is_sent_to_log_in(client, coins):
    response = client.get("/watchlist")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/watchlist")


def test_the_page_shows_the_default_list_with_each_coins_figures(signed_in, default):
    watchlist_item_add(watchlist=default, symbol="ETH", note="merge trade")
    watchlist_item_add(watchlist=default, symbol="BTC")
    WatchlistItem.objects.filter(coin__symbol="BTC").update(added_price=80000.0)  # BTC is at 90,000
    html = signed_in.get("/watchlist").content.decode()
    assert rows_of(html) == ["ETH", "BTC"]  # the list's order
    assert '<span id="p-BTC" class="num price">90,000.00</span>' in html
    assert cell(html, "BTC", "added") == "+12.50%"  # 90,000 / 80,000 - 1
    assert cell(html, "ETH", "added") == "+0.00%"
    assert 'data-base="80000.0" data-change="added"' in html  # what the page's script measures from
    assert 'value="merge trade"' in html
    assert "2 coins" in html


def test_seven_and_thirty_day_changes_come_from_the_candles_with_their_base_price(signed_in, default):
    watchlist_item_add(watchlist=default, symbol="BTC")
    btc, now = Coin.objects.get(symbol="BTC"), timezone.now()
    candle_add(btc, "1h", hours_back(now, 7 * 24 + 1), 80000.0)  # the last hourly bar closed 7 days ago
    candle_add(btc, "1h", hours_back(now, 30 * 24 + 1), 100000.0)
    html = signed_in.get("/watchlist").content.decode()
    assert cell(html, "BTC", "7d") == "+12.50%"  # 90,000 / 80,000 - 1
    assert cell(html, "BTC", "30d") == "-10.00%"  # 90,000 / 100,000 - 1
    assert 'data-base="80000.0" data-change="7d"' in html and 'data-base="100000.0" data-change="30d"' in html


def test_each_item_has_a_sparkline_of_its_last_week_of_hourly_closes(signed_in, default):
    watchlist_item_add(watchlist=default, symbol="BTC")
    watchlist_item_add(watchlist=default, symbol="ETH")
    btc, now = Coin.objects.get(symbol="BTC"), timezone.now()
    for hours, close in ((5, 100.0), (4, 80.0), (3, 120.0)):
        candle_add(btc, "1h", hours_back(now, hours), close)
    html = signed_in.get("/watchlist").content.decode()
    btc_row = html[html.index('<tr id="item-BTC"') : html.index('<tr id="item-ETH"')]
    points = re.search(r'<svg class="spark up"[^>]*><polyline[^>]* points="([^"]+)"', btc_row).group(1)
    # in 100 x 30 px with a 1.5 px stroke: x steps (100 - 1.5) / 2; 100 is half way from 80 to 120,
    # so y = 0.75 + 0.5 * (30 - 1.5)
    assert points == "0.75,15 50,29.25 99.25,0.75"
    assert 'class="spark empty"' in html[html.index('<tr id="item-ETH"') :]  # no history: says so


def cache_clear() -> None:
    """This test's cache keys gone (the figures of the hour are cached: counts are of a first read)."""
    if settings.REDIS_URL:
        cache.delete_pattern("*")
    else:
        cache.clear()


def test_the_page_costs_the_same_queries_for_one_coin_or_five(signed_in, default, django_assert_num_queries):
    watchlist_item_add(watchlist=default, symbol="BTC")
    # session, user, the default list, its items, their closes 7 and 30 days ago, their sparklines,
    # the bell's unread count, the lists with their counts, the coins' symbols (for the add form)
    cache_clear()
    with django_assert_num_queries(9):
        signed_in.get("/watchlist")
    for symbol in ("ETH", "SOL", "DOGE", "PEPE"):
        watchlist_item_add(watchlist=default, symbol=symbol)
    cache_clear()
    with django_assert_num_queries(9):
        assert len(rows_of(signed_in.get("/watchlist").content.decode())) == 5


def test_a_column_sorts_the_table_and_htmx_gets_only_the_table(signed_in, default):
    for symbol in ("ETH", "BTC", "SOL"):
        watchlist_item_add(watchlist=default, symbol=symbol)
    response = signed_in.get("/watchlist", {"ordering": "-price"}, **htmx("watchlist-table"))
    html = response.content.decode()
    assert "<html" not in html and rows_of(html) == ["BTC", "ETH", "SOL"]
    assert 'data-reorder="off"' in html  # rows are dragged in the list's own order only
    html = signed_in.get("/watchlist", {"ordering": "symbol"}).content.decode()
    assert rows_of(html) == ["BTC", "ETH", "SOL"] and "<html" in html
    assert rows_of(signed_in.get("/watchlist").content.decode()) == ["ETH", "BTC", "SOL"]


def test_an_unknown_ordering_names_the_field_and_shows_the_lists_own_order(signed_in, default):
    for symbol in ("ETH", "BTC"):
        watchlist_item_add(watchlist=default, symbol=symbol)
    response = signed_in.get("/watchlist", {"ordering": "colour"}, **htmx("watchlist-table"))
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert "<strong>ordering</strong>: Unknown ordering 'colour'" in html
    assert rows_of(html) == ["ETH", "BTC"]


def test_an_empty_list_says_how_to_fill_it(signed_in, default):
    html = signed_in.get("/watchlist").content.decode()
    assert f"No coins on {default.name} yet." in html and "0 coins" in html


def test_the_lists_are_tabs_each_with_its_count(signed_in, user, default):
    watchlist_item_add(watchlist=default, symbol="BTC")
    second = watchlist_create(user=user, name="Layer 2s")
    html = signed_in.get(f"/watchlist/{second.pk}").content.decode()
    tabs = re.findall(r'<a href="/watchlist/(\d+)" class="list-tab( active)?"', html)
    assert tabs == [(str(default.pk), ""), (str(second.pk), " active")]
    assert re.search(r'Watchlist</span><small class="count" data-count>1</small>', html)
    assert '<h1 id="list-name">Layer 2s</h1>' in html


# --- lists -------------------------------------------------------------------------------------


def test_creating_a_list_opens_it(signed_in, user):
    response = signed_in.post("/watchlist/new", {"new-name": "Memes"})
    made = Watchlist.objects.get(user=user, name="Memes")
    assert response.status_code == 302 and response["Location"] == f"/watchlist/{made.pk}"


def test_a_list_name_taken_or_empty_is_an_error_under_the_name(signed_in, default):
    response = signed_in.post("/watchlist/new", {"new-name": default.name})
    html = unescape(response.content.decode())
    assert response.status_code == 400
    field = html[html.index('id="new-list-form"') : html.index('id="new-list-button"')]
    assert f"You already have a list named '{default.name}'" in field and 'class="field invalid"' in field
    response = signed_in.post("/watchlist/new", {"new-name": "  "})
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_renaming_a_list(signed_in, default):
    response = signed_in.post(f"/watchlist/{default.pk}/rename", {"name": "Majors"})
    assert response.status_code == 302
    default.refresh_from_db()
    assert default.name == "Majors"


def test_a_rename_to_a_taken_name_shows_the_error_in_the_open_rename_form(signed_in, user, default):
    watchlist_create(user=user, name="Majors")
    response = signed_in.post(f"/watchlist/{default.pk}/rename", {"name": "Majors"})
    html = unescape(response.content.decode())
    assert response.status_code == 400
    form = html[html.index('id="rename-form"') :]
    assert "You already have a list named 'Majors'" in form[: form.index("</form>")]
    assert re.search(r'<details class="action-pop" open>\s*<summary class="button small">Rename', html)
    assert '<h1 id="list-name">Watchlist' in html  # the name it still has


def test_deleting_a_list_goes_back_to_the_default_one(signed_in, user):
    doomed = watchlist_create(user=user, name="Old")
    response = signed_in.post(f"/watchlist/{doomed.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/watchlist"
    assert not Watchlist.objects.filter(pk=doomed.pk).exists()


def test_the_default_list_offers_no_delete_and_refuses_one(signed_in, default):
    assert 'id="delete-form"' not in signed_in.get("/watchlist").content.decode()
    response = signed_in.post(f"/watchlist/{default.pk}/delete", follow=True)
    assert "The default list cannot be deleted" in response.content.decode()
    assert Watchlist.objects.filter(pk=default.pk).exists()


# --- items -------------------------------------------------------------------------------------


def test_adding_a_coin(signed_in, default):
    response = signed_in.post(f"/watchlist/{default.pk}/items", {"symbol": "sol", "note": "cheap"})
    assert response.status_code == 302
    item = WatchlistItem.objects.get(watchlist=default)
    assert (item.coin.symbol, item.note, item.added_price) == ("SOL", "cheap", 140.0)


@pytest.mark.parametrize(
    ("symbol", "message"),
    [("NOPE", "Unknown coin symbol 'NOPE'"), ("BTC", "BTC is on Watchlist."), ("", "This field is required.")],
)
def test_a_coin_refused_is_an_error_under_the_coin_field(signed_in, default, symbol, message):
    watchlist_item_add(watchlist=default, symbol="BTC")
    response = signed_in.post(f"/watchlist/{default.pk}/items", {"symbol": symbol})
    html = unescape(response.content.decode())
    assert response.status_code == 400
    form = html[html.index('id="add-coin-form"') : html.index('id="add-coin-button"')]
    coin_field = form[form.index("<span>Coin</span>") : form.index("<span>Note</span>")]
    assert message in coin_field
    assert WatchlistItem.objects.filter(watchlist=default).count() == 1


def test_a_target_set_inline_becomes_a_crossing_up_alert_shown_on_the_row(signed_in, default):
    watchlist_item_add(watchlist=default, symbol="BTC")
    data = {"note": "", "target_price": "100000", "stop_price": ""}
    response = signed_in.post(f"/watchlist/{default.pk}/items/BTC", data, **HTMX)
    html = response.content.decode()
    alert = Alert.objects.get(user=default.user)
    assert alert.condition == {"kind": "crossing_up", "level": 100000.0} and alert.coin.symbol == "BTC"
    assert html.startswith('<tr id="item-BTC"') and 'name="target_price"' in html
    assert re.search(r'name="target_price"[^>]*value="100000"', html)
    assert f'<a class="level-alert" href="/alerts/{alert.pk}"' in html


def test_a_stop_then_cleared_deletes_its_alert_and_an_unchanged_target_keeps_its_own(signed_in, default):
    item = watchlist_item_add(watchlist=default, symbol="BTC")
    item = watchlist_item_update(item=item, target_price=100000.0, stop_price=80000.0)
    target, stop = item.target_alert_id, item.stop_alert_id
    Alert.objects.filter(pk=target).update(status="triggered")  # fired: an unchanged target must not re-arm it
    data = {"note": "hold", "target_price": "100000", "stop_price": ""}
    signed_in.post(f"/watchlist/{default.pk}/items/BTC", data, **HTMX)
    item.refresh_from_db()
    assert (item.note, item.stop_price, item.stop_alert_id) == ("hold", None, None)
    assert not Alert.objects.filter(pk=stop).exists()
    assert Alert.objects.get(pk=target).status == "triggered"


@pytest.mark.parametrize("typed", ["-5", "0", "lots"])
def test_a_bad_target_is_shown_under_it_with_what_was_typed(signed_in, default, typed):
    watchlist_item_add(watchlist=default, symbol="BTC")
    data = {"note": "", "target_price": typed, "stop_price": ""}
    response = signed_in.post(f"/watchlist/{default.pk}/items/BTC", data, **HTMX)
    html = response.content.decode()
    target = html[html.index('name="target_price"') : html.index('name="stop_price"')]
    assert "Enter a positive price in USDT, or leave it empty to clear it." in target
    assert f'value="{typed}"' in target
    assert not Alert.objects.exists()


def test_removing_a_coin_with_htmx_answers_nothing_and_it_is_gone(signed_in, default):
    watchlist_item_add(watchlist=default, symbol="BTC")
    response = signed_in.post(f"/watchlist/{default.pk}/items/btc/remove", **HTMX)
    assert response.status_code == 200 and response.content == b""
    assert not WatchlistItem.objects.exists()


def test_a_drag_saves_the_new_order(signed_in, default):
    for symbol in ("BTC", "ETH", "SOL"):
        watchlist_item_add(watchlist=default, symbol=symbol)
    response = signed_in.post(f"/watchlist/{default.pk}/order", {"symbols": ["SOL", "BTC", "ETH"]})
    assert response.status_code == 204
    assert rows_of(signed_in.get("/watchlist").content.decode()) == ["SOL", "BTC", "ETH"]
    response = signed_in.post(f"/watchlist/{default.pk}/order", {"symbols": ["SOL", "BTC"]})
    assert response.status_code == 400 and "missing: ETH" in response.content.decode()


def test_another_users_list_is_404_on_every_page_and_form(signed_in, other):
    theirs = Watchlist.objects.get(user=other, is_default=True)
    watchlist_item_add(watchlist=theirs, symbol="BTC")
    base = f"/watchlist/{theirs.pk}"
    assert signed_in.get(base).status_code == 404
    assert signed_in.get(f"{base}/items/BTC", **HTMX).status_code == 404
    for path, data in [
        (f"{base}/rename", {"name": "mine"}),
        (f"{base}/delete", {}),
        (f"{base}/items", {"symbol": "ETH"}),
        (f"{base}/items/BTC", {"note": "x", "target_price": "1", "stop_price": ""}),
        (f"{base}/items/BTC/remove", {}),
        (f"{base}/order", {"symbols": ["BTC"]}),
        ("/watchlist/star/ETH", {"list": theirs.pk}),
    ]:
        assert signed_in.post(path, data).status_code == 404, path
    theirs.refresh_from_db()
    assert theirs.name == "Watchlist" and [i.coin.symbol for i in theirs.items.all()] == ["BTC"]
    assert not Alert.objects.exists()


# --- the star ----------------------------------------------------------------------------------


def test_with_one_list_the_star_puts_the_coin_on_it_and_takes_it_off(signed_in, default):
    html = signed_in.get("/").content.decode()
    vals = f'hx-vals=\'{{"list": "{default.pk}"}}\''
    assert re.search(rf'<button type="button" class="star" [^>]*hx-post="/watchlist/star/ETH" {vals}', html)
    response = signed_in.post("/watchlist/star/ETH", {"list": default.pk}, **HTMX)
    assert '<button type="button" class="star on"' in response.content.decode()
    assert [i.coin.symbol for i in default.items.all()] == ["ETH"]
    response = signed_in.post("/watchlist/star/ETH", {"list": default.pk}, **HTMX)
    assert '<button type="button" class="star"' in response.content.decode()
    assert not default.items.exists()


def test_with_several_lists_the_star_asks_which_and_keeps_the_menu_open(signed_in, user, default):
    second = watchlist_create(user=user, name="Layer 2s")
    watchlist_item_add(watchlist=second, symbol="SOL")
    html = signed_in.get("/").content.decode()
    assert re.search(r'class="star on" [^>]*hx-get="/watchlist/star/SOL" aria-haspopup="menu"', html)
    menu = signed_in.get("/watchlist/star/SOL", **HTMX).content.decode()
    checks = re.findall(r'role="menuitemcheckbox" aria-checked="(\w+)" data-list="(\d+)"', menu)
    assert checks == [("false", str(default.pk)), ("true", str(second.pk))]
    response = signed_in.post("/watchlist/star/SOL", {"list": default.pk, "menu": "1"}, **HTMX)
    checks = re.findall(r'aria-checked="(\w+)" data-list="(\d+)"', response.content.decode())
    assert checks == [("true", str(default.pk)), ("true", str(second.pk))]
    assert sorted(WatchlistItem.objects.filter(coin__symbol="SOL").values_list("watchlist_id", flat=True)) == sorted(
        [default.pk, second.pk]
    )


def test_the_stars_address_opened_by_hand_goes_to_the_coin(signed_in, default):
    response = signed_in.get("/watchlist/star/eth")
    assert response.status_code == 302 and response["Location"] == "/coins/ETH"


def test_a_star_refused_says_why(signed_in, default):
    Coin.objects.filter(symbol="DOGE").update(is_active=False)
    html = signed_in.post("/watchlist/star/DOGE", {"list": default.pk}, **HTMX).content.decode()
    assert re.search(r'<span class="star-error floating" role="alert">[^<]*DOGE has no live price to follow', html)


def test_a_visitors_star_asks_to_log_in_and_the_dashboard_costs_no_more(client, coins, django_assert_num_queries):
    with django_assert_num_queries(5):  # as before the stars: count, page, three overview lists
        html = client.get("/").content.decode()
    assert 'title="Log in to put BTC on a watchlist"' in html and "/accounts/login/?next=/" in html


def test_the_coin_page_has_the_star(signed_in, default):
    watchlist_item_add(watchlist=default, symbol="ETH")
    html = signed_in.get("/coins/ETH").content.decode()
    assert re.search(r'<h1><span class="star-box" id="star-ETH">\s*<button type="button" class="star on"', html)


# --- the dashboard filtered to a list ----------------------------------------------------------


def dashboard_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-symbol="(\w+)">', html)


def test_the_dashboard_shows_only_a_lists_coins(signed_in, user, default):
    second = watchlist_create(user=user, name="Layer 2s")
    for symbol in ("SOL", "ETH"):
        watchlist_item_add(watchlist=second, symbol=symbol)
    response = signed_in.get("/", {"watchlist": second.pk}, **htmx("coin-table"))
    assert dashboard_rows(response.content.decode()) == ["ETH", "SOL"]  # by rank, as the table is
    html = signed_in.get("/", {"watchlist": second.pk}).content.decode()
    assert f'<option value="{second.pk}" selected>Layer 2s</option>' in html
    assert dashboard_rows(signed_in.get("/").content.decode()) == ["BTC", "ETH", "SOL", "DOGE", "PEPE"]


@pytest.mark.parametrize("value", ["other", "12abc", "99999999999999999999999"])
def test_the_dashboard_for_a_list_not_yours_shows_why_and_no_coins(signed_in, other, value):
    theirs = Watchlist.objects.get(user=other, is_default=True)
    watchlist_item_add(watchlist=theirs, symbol="BTC")
    asked = str(theirs.pk) if value == "other" else value
    response = signed_in.get("/", {"watchlist": asked})
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert f"<strong>watchlist</strong>: You have no watchlist '{asked[:30]}'" in html
    assert dashboard_rows(html) == []


def test_a_visitors_dashboard_for_a_list_asks_to_log_in(client, coins):
    html = client.get("/", {"watchlist": "1"}).content.decode()
    assert "Log in to see the coins of your watchlists." in html and dashboard_rows(html) == []


@pytest.mark.parametrize("symbol", ["%00", "BTC%00", "%3Cb%3E"])
def test_a_symbol_no_coin_has_is_404_or_said_never_a_server_error(signed_in, default, symbol):
    watchlist_item_add(watchlist=default, symbol="BTC")
    base = f"/watchlist/{default.pk}/items/{symbol}"
    assert signed_in.get(base, **HTMX).status_code == 404
    assert signed_in.post(base, {"note": "x", "target_price": "", "stop_price": ""}, **HTMX).status_code == 404
    assert signed_in.post(f"{base}/remove", **HTMX).status_code == 404
    response = signed_in.post(f"/watchlist/star/{symbol}", {"list": default.pk}, **HTMX)
    assert response.status_code == 200 and 'class="star-error floating" role="alert"' in response.content.decode()
    assert "<b>" not in response.content.decode()
    assert [i.coin.symbol for i in default.items.all()] == ["BTC"]
