"""The watchlists admin: the list and a list's page open with its coins, notes are edited there, and
deleting goes through the service (the items' alerts with them; the default list kept)."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.models import Alert
from scalpaiboard.accounts.models import User
from watchlists import services
from watchlists.models import Watchlist, WatchlistItem
from watchlists.selectors import watchlist_default_get


@pytest.fixture
def admin_client(coins):
    staff = User.objects.create_superuser(username="admin", email="admin@example.com", password=None)
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def majors(coins) -> Watchlist:
    owner = User.objects.create_user(username="trader", email="trader@example.com")
    majors = services.watchlist_create(user=owner, name="Majors")
    services.watchlist_item_add(watchlist=majors, symbol="BTC", target_price=100000)
    services.watchlist_item_add(watchlist=majors, symbol="ETH")
    return majors


def test_the_list_and_a_lists_page_open_with_its_coins(admin_client, majors):
    listing = admin_client.get("/admin/watchlists/watchlist/").content.decode()
    assert "Majors" in listing
    page = admin_client.get(f"/admin/watchlists/watchlist/{majors.pk}/change/")
    assert page.status_code == 200
    assert "BTC" in page.content.decode() and "ETH" in page.content.decode()


def test_deleting_a_list_in_the_admin_deletes_its_items_alerts(admin_client, majors):
    response = admin_client.post(f"/admin/watchlists/watchlist/{majors.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Watchlist.objects.filter(pk=majors.pk).exists()
    assert not Alert.objects.exists() and not WatchlistItem.objects.exists()


def test_the_default_list_cannot_be_deleted_in_the_admin(admin_client, majors):
    default = watchlist_default_get(user=majors.user)
    assert admin_client.get(f"/admin/watchlists/watchlist/{default.pk}/delete/").status_code == 403
    response = admin_client.post(
        "/admin/watchlists/watchlist/",
        {"action": "delete_selected", "_selected_action": [default.pk, majors.pk], "post": "yes"},
    )
    assert response.status_code == 403  # the whole selection is refused
    theirs = Watchlist.objects.filter(user=majors.user)
    assert sorted(theirs.values_list("name", flat=True)) == ["Majors", "Watchlist"]
    admin_client.post(
        "/admin/watchlists/watchlist/", {"action": "delete_selected", "_selected_action": [majors.pk], "post": "yes"}
    )
    assert list(theirs.values_list("name", flat=True)) == ["Watchlist"]
    assert not Alert.objects.exists()
