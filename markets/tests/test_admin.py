"""The markets admin: coins listed or not, and where the stored market data came from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from markets.models import MarketDataOrigin

pytestmark = pytest.mark.django_db

SWITCHED = datetime(2026, 12, 7, 0, 52, 11, tzinfo=UTC)


def origin(**fields) -> MarketDataOrigin:
    values = {"source": "binance", "started_at": SWITCHED, "backfilled_at": SWITCHED} | fields
    return MarketDataOrigin.objects.create(pk=MarketDataOrigin.SINGLETON, **values)


def test_the_coin_list_says_which_source_its_market_data_came_from(admin_client, coins):
    origin()

    html = admin_client.get("/admin/markets/coin/").content.decode()

    assert "<h2>Market data from binance since 2026-12-07 00:52 UTC.</h2>" in html
    assert ">Listed<" in html  # the column of the flag lists and the API filter on


def test_the_coin_list_shows_a_switch_whose_back_fill_is_unfinished(admin_client, coins):
    origin(backfilled_at=None)

    html = admin_client.get("/admin/markets/coin/").content.decode()

    assert "since 2026-12-07 00:52 UTC (back-fill unfinished: the next start redoes it)." in html


def test_the_coin_list_of_data_stored_before_sources_were_recorded_says_so(admin_client, coins):
    origin(source="", started_at=None, backfilled_at=None)

    html = admin_client.get("/admin/markets/coin/").content.decode()

    assert "Market data from an unrecorded source: the next start records its own." in html


def test_the_market_data_origin_is_shown_and_cannot_be_edited(admin_client):
    record = origin()

    listing = admin_client.get("/admin/markets/marketdataorigin/")

    assert listing.status_code == 200 and "binance" in listing.content.decode()
    assert admin_client.get("/admin/markets/marketdataorigin/add/").status_code == 403
    assert admin_client.post(f"/admin/markets/marketdataorigin/{record.pk}/change/", {"source": "x"}).status_code == 403
    assert admin_client.post(f"/admin/markets/marketdataorigin/{record.pk}/delete/", {"post": "yes"}).status_code == 403
