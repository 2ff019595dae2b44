"""Watchlist alerts on the alert pages: the form offers the user's lists beside a coin, the manager and the
history show the list and each firing's coin, and editing and deleting work as for an alert on a coin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.models import Alert, AlertEvent
from alerts.services import alert_create
from alerts.tests.test_views import field_errors, form_data
from watchlists.models import Watchlist, WatchlistItem

pytestmark = pytest.mark.django_db
UP_5 = {"kind": "moving_up", "percent": 5, "bars": 1}


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def majors(user, coins):
    watchlist = Watchlist.objects.create(user=user, name="Majors", position=1)
    for symbol in ("BTC", "ETH"):
        WatchlistItem.objects.create(watchlist=watchlist, coin=coins[symbol], added_price=100)
    return watchlist


@pytest.fixture
def on_list(user, majors) -> Alert:
    alert = alert_create(user=user, data={"watchlist": majors.pk, "condition": UP_5})
    eth = alert.members.get(coin__symbol="ETH")
    AlertEvent.objects.create(
        alert=eth, key="t:1", fired_at=datetime(2026, 12, 7, 3, 59, 58, tzinfo=UTC), price=106.5, message="ETH +6%"
    )
    Alert.objects.filter(pk=eth.pk).update(fire_count=1, last_fired_at=datetime(2026, 12, 7, 3, 59, 58, tzinfo=UTC))
    return alert


def test_the_form_offers_the_users_lists_beside_a_coin(signed_in, majors, other):
    html = signed_in.get("/alerts/new").content.decode()
    assert f'<option value="{majors.pk}">Majors</option>' in html
    assert f'value="{Watchlist.objects.get(user=other).pk}"' not in html


def test_the_form_creates_an_alert_on_a_watchlist(signed_in, user, majors):
    data = form_data(symbol="", watchlist=str(majors.pk), kind="moving_up", percent="5", bars="1", level="")
    response = signed_in.post("/alerts/new", data)
    alert = Alert.objects.get(parent=None)
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}"
    assert (alert.watchlist_id, alert.coin_id, alert.condition["percent"]) == (majors.pk, None, 5.0)
    assert sorted(alert.members.values_list("coin__symbol", flat=True)) == ["BTC", "ETH"]


def test_the_form_names_a_price_level_on_a_watchlist_and_a_missing_target(signed_in, majors):
    html = signed_in.post("/alerts/new", form_data(symbol="", watchlist=str(majors.pk))).content.decode()
    assert any("must make sense on every coin" in e for e in field_errors(html, "kind"))
    html = signed_in.post("/alerts/new", form_data(symbol="")).content.decode()
    assert any("exactly one of symbol" in e for e in field_errors(html, "symbol"))
    assert not Alert.objects.exists()


def test_the_manager_shows_the_list_its_coins_and_their_firings(signed_in, on_list):
    html = signed_in.get("/alerts").content.decode()
    row = html.split(f'id="alert-{on_list.pk}"')[1].split("</tr>")[0]
    assert "Majors" in row and "2 coins" in row
    assert "12-07 03:59:58" in row and '<td class="num col-count">1</td>' in row
    assert html.count('class="alert-row') == 1  # its members are not rows


def test_the_history_names_each_firings_coin(signed_in, on_list):
    html = signed_in.get(f"/alerts/{on_list.pk}").content.decode()
    assert "every coin of Majors" in html
    assert "<td><strong>ETH</strong></td>" in html and "ETH +6%" in html


def test_the_edit_form_keeps_the_list_and_saves_to_every_coin(signed_in, on_list, majors):
    html = signed_in.get(f"/alerts/{on_list.pk}/edit").content.decode()
    assert f'<option value="{majors.pk}" selected>Majors</option>' in html
    data = form_data(symbol="", watchlist=str(majors.pk), kind="moving_up", percent="8", bars="1", level="")
    assert signed_in.post(f"/alerts/{on_list.pk}/edit", data).status_code == 302
    assert {m.condition["percent"] for m in on_list.members.all()} == {8.0}


def test_deleting_from_the_page_deletes_every_coin(signed_in, on_list):
    assert "every coin of Majors" in signed_in.get(f"/alerts/{on_list.pk}/delete").content.decode()
    assert signed_in.post(f"/alerts/{on_list.pk}/delete").status_code == 302
    assert not Alert.objects.exists()


def test_a_members_page_is_404(signed_in, on_list):
    member = on_list.members.first()
    assert signed_in.get(f"/alerts/{member.pk}").status_code == 404


def test_the_admin_shows_a_watchlist_alert_and_its_member(client, django_user_model, on_list):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "a long pass phrase"))
    response = client.get(f"/admin/alerts/alert/{on_list.pk}/change/")
    assert response.status_code == 200 and "Majors" in response.content.decode()
    response = client.get(f"/admin/alerts/alert/{on_list.members.first().pk}/change/")
    assert response.status_code == 200 and f"watchlist {on_list.watchlist_id} moving_up" in response.content.decode()
    assert client.get("/admin/alerts/alert/").status_code == 200
