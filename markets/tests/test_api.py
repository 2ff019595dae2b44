"""The markets API: pagination, ordering, filters, errors, caching and query counts."""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime

import numpy as np
import pytest
from django.core.cache import CacheKeyWarning
from rest_framework.test import APIClient

from conftest import TEST_PROFILES
from markets import snapshot
from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME
from markets.models import Coin, MarketDataOrigin
from markets.services import candles_store, market_flush
from markets.sources.simulated import SimulatedSource
from markets.sources.simulation import SimulatedExchange

NOW = 1_795_000_000 - 1_795_000_000 % 3600  # a whole hour, UTC


@pytest.fixture
def api():
    return APIClient()


def symbols(response) -> list[str]:
    return [c["symbol"] for c in response.json()["results"]]


def publish(tickers: dict[str, dict], *, version: int, bars: dict | None = None) -> None:
    """What the feed does after each batch: write the coins, then the snapshot and version."""
    market_flush(tickers=tickers, closed=[])
    snapshot.snapshot_store(tickers=tickers, bars=bars or {}, version=version, ts=version)


def ticker(symbol: str, price: float, change: float = 0.0) -> dict:
    return {
        "symbol": symbol,
        "price": price,
        "change24h": change,
        "volume24h": 1e9,
        "high24h": price * 1.01,
        "low24h": price * 0.99,
        "ts": NOW * 1000,
    }


def store_1m_bars(symbol: str, count: int, *, end: int = NOW) -> np.ndarray:
    times = end - 60 * np.arange(count, 0, -1)
    bars = np.zeros((count, 6))
    bars[:, TIME] = times
    bars[:, OPEN] = 100 + np.arange(count)
    bars[:, CLOSE] = bars[:, OPEN] + 0.5
    bars[:, HIGH] = bars[:, CLOSE] + 1
    bars[:, LOW] = bars[:, OPEN] - 1
    bars[:, VOLUME] = 2.0
    candles_store(bars={"1m": {symbol: bars}})
    return bars


# --- GET /api/coins -------------------------------------------------------------------------


def test_coin_list_is_paginated_with_limit_and_offset(api, coins):
    response = api.get("/api/coins", {"limit": 2, "offset": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 5
    assert symbols(response) == ["ETH", "SOL"]
    assert "offset=3" in body["next"] and "limit=2" in body["next"]
    assert body["previous"] is not None


def test_coin_list_fields_follow_the_contract(api, coins):
    coin = api.get("/api/coins", {"limit": 1}).json()["results"][0]
    assert set(coin) == {
        "symbol", "name", "rank", "price", "change24h", "volume24h", "high24h", "low24h",
        "market_cap", "circulating_supply", "updated_at", "age",
    }  # fmt: skip
    assert coin["symbol"] == "BTC" and coin["price"] == 90000.0


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["PEPE", "DOGE", "SOL", "ETH", "BTC"]),
        ("-price", ["BTC", "ETH", "SOL", "DOGE", "PEPE"]),
        ("volume24h", ["PEPE", "DOGE", "SOL", "ETH", "BTC"]),
        ("-change24h", ["SOL", "BTC", "PEPE", "DOGE", "ETH"]),
        ("change24h", ["ETH", "DOGE", "PEPE", "BTC", "SOL"]),
        ("-rank", ["PEPE", "DOGE", "SOL", "ETH", "BTC"]),
        # PEPE has no known supply, so no market cap: last in both directions.
        ("market_cap", ["DOGE", "SOL", "ETH", "BTC", "PEPE"]),
        ("-market_cap", ["BTC", "ETH", "SOL", "DOGE", "PEPE"]),
    ],
)
def test_coin_list_orders_by_each_field_both_ways(api, coins, ordering, expected):
    assert symbols(api.get("/api/coins", {"ordering": ordering})) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"min_price": 100}, ["BTC", "ETH", "SOL"]),
        ({"max_price": 1}, ["DOGE", "PEPE"]),
        ({"min_price": 1, "max_price": 5000}, ["ETH", "SOL"]),
        ({"min_volume": 5e8}, ["BTC", "ETH"]),
        ({"min_change": 0}, ["BTC", "SOL", "PEPE"]),
        ({"max_change": -1}, ["ETH", "DOGE"]),
        ({"search": "eth"}, ["ETH"]),
        ({"search": "coin"}, ["BTC", "DOGE"]),  # names: Bitcoin, Dogecoin
        ({"search": "zzz"}, []),
    ],
)
def test_coin_list_filters(api, coins, params, expected):
    response = api.get("/api/coins", params)
    assert response.status_code == 200
    assert symbols(response) == expected
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "abc"}, "min_price"),
        ({"max_change": "1e309"}, "max_change"),
        ({"min_volume": "99999999999999999999"}, "min_volume"),
        ({"min_price": "-5"}, "min_price"),
        ({"ordering": "hash"}, "ordering"),
        ({"ordering": ","}, "ordering"),  # an empty item in the list: a typo, not a shorter list
        ({"ordering": "-price,"}, "ordering"),
        ({"ordering": "-price,,rank"}, "ordering"),
        ({"search": "x" * 51}, "search"),
        ({"limit": "0"}, "limit"),
        ({"limit": str(10**9)}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
def test_coin_list_rejects_bad_parameters_naming_them(api, coins, params, field):
    response = api.get("/api/coins", params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field] and all(isinstance(m, str) and m for m in body[field])


def test_coin_list_takes_two_queries_then_none_while_prices_stand_still(api, coins, django_assert_num_queries):
    publish({"BTC": ticker("BTC", 90000.0)}, version=1)
    with django_assert_num_queries(2):  # count + page
        first = api.get("/api/coins", {"limit": 100})
    with django_assert_num_queries(0):
        second = api.get("/api/coins", {"limit": 100})
    assert first.content == second.content


def test_coin_list_query_count_does_not_grow_with_coins(api, coins, django_assert_num_queries):
    Coin.objects.bulk_create(
        Coin(symbol=f"X{i}", name=f"Extra {i}", rank=10 + i, price=1.0, updated_at=coins["BTC"].updated_at)
        for i in range(40)
    )
    with django_assert_num_queries(2):
        response = api.get("/api/coins", {"limit": 100})
    assert response.json()["count"] == 45


def test_coin_list_shows_new_prices_once_the_feed_moves_on(api, coins):
    publish({"BTC": ticker("BTC", 91000.0)}, version=1)
    assert api.get("/api/coins", {"limit": 1}).json()["results"][0]["price"] == 91000.0
    publish({"BTC": ticker("BTC", 92000.5)}, version=2)
    assert api.get("/api/coins", {"limit": 1}).json()["results"][0]["price"] == 92000.5


def test_inactive_coins_are_not_listed(api, coins):
    Coin.objects.filter(symbol="DOGE").update(is_active=False)
    assert "DOGE" not in symbols(api.get("/api/coins"))


# --- GET /api/coins/{symbol} ------------------------------------------------------------------


def test_coin_detail_is_case_insensitive(api, coins):
    response = api.get("/api/coins/eth")
    assert response.status_code == 200
    assert response.json()["symbol"] == "ETH"


def test_unknown_coin_is_a_404_with_a_message(api, coins):
    response = api.get("/api/coins/NOPE")
    assert response.status_code == 404
    assert "NOPE" in response.json()["detail"]


@pytest.mark.parametrize("suffix", ["", "/candles", "/orderbook", "/trades"])
def test_every_coin_endpoint_404s_for_an_unknown_symbol(api, coins, suffix):
    response = api.get(f"/api/coins/NOPE{suffix}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


def test_the_coin_list_is_cached_under_a_short_key_whatever_the_query(api, coins, django_assert_num_queries):
    publish({"BTC": ticker("BTC", 90000.0)}, version=1)
    query = {"ordering": ",".join(["-price", "rank"] * 40), "search": "bitcoin"}  # a URL of 600 characters
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)  # a key over 250 characters, as it was
        first = api.get("/api/coins", query)
        with django_assert_num_queries(0):
            again = api.get("/api/coins", query)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content


@pytest.mark.parametrize("suffix", ["", "/candles", "/orderbook", "/trades", "/analysis", "/patterns"])
def test_a_symbol_with_a_nul_character_is_an_unknown_coin(api, coins, suffix):
    """PostgreSQL refuses NUL in a query parameter: that was a 500."""
    response = api.get(f"/api/coins/BT%00C{suffix}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Unknown coin symbol 'BT\x00C'. GET /api/coins lists the known ones."}


def test_unknown_api_path_is_a_json_404(api, db):
    response = api.get("/api/nothing-here")
    assert response.status_code == 404
    assert "detail" in response.json()


# --- candles ---------------------------------------------------------------------------------


def test_candles_are_oldest_first_and_limited(api, coins):
    bars = store_1m_bars("BTC", 30)
    response = api.get("/api/coins/BTC/candles", {"timeframe": "1m", "limit": 10})
    assert response.status_code == 200
    body = response.json()
    assert [b["time"] for b in body] == bars[-10:, TIME].astype(int).tolist()
    assert body[-1] == {"time": NOW - 60, "open": 129.0, "high": 130.5, "low": 128.0, "close": 129.5, "volume": 2.0}


def test_candles_end_with_the_forming_bar(api, coins):
    store_1m_bars("BTC", 5)
    forming = {"time": NOW, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3.0}
    publish({"BTC": ticker("BTC", 1.5)}, version=1, bars={"BTC": {"1m": forming}})
    body = api.get("/api/coins/BTC/candles", {"timeframe": "1m", "limit": 3}).json()
    assert len(body) == 3
    assert body[-1] == forming
    assert body[-2]["time"] == NOW - 60


def test_candles_between_start_and_end(api, coins):
    store_1m_bars("BTC", 30)
    start, end = NOW - 20 * 60, NOW - 15 * 60
    body = api.get("/api/coins/BTC/candles", {"timeframe": "1m", "start": start, "end": end * 1000}).json()
    assert [b["time"] for b in body] == list(range(start, end + 1, 60))
    iso = api.get("/api/coins/BTC/candles", {"timeframe": "1m", "start": "2030-01-01T00:00:00Z"}).json()
    assert iso == []  # every bar is older


def test_candle_cache_follows_the_feed(api, coins):
    store_1m_bars("BTC", 5)
    first = api.get("/api/coins/BTC/candles", {"timeframe": "1m"}).json()
    store_1m_bars("BTC", 1, end=NOW + 60)  # the feed closes the bar at NOW...
    forming = {"time": NOW + 60, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 0.0}
    publish({"BTC": ticker("BTC", 1.0)}, version=3, bars={"BTC": {"1m": forming}})  # ...then opens the next
    second = api.get("/api/coins/BTC/candles", {"timeframe": "1m"}).json()
    assert len(second) == len(first) + 2
    assert [b["time"] for b in second[-2:]] == [NOW, NOW + 60]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"timeframe": "2m"}, "timeframe"),
        ({"limit": 0}, "limit"),
        ({"limit": 10**9}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"start": "yesterday"}, "start"),
        ({"start": "²"}, "start"),  # a digit to str.isdigit(), not to int()
        ({"end": "99999999999999999999999"}, "end"),
        ({"start": NOW, "end": NOW - 60}, "start"),
    ],
)
def test_candles_reject_bad_parameters_naming_them(api, coins, params, field):
    response = api.get("/api/coins/BTC/candles", params)
    assert response.status_code == 400
    assert field in response.json()


RANGE_MESSAGE = "Must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (Unix seconds 0 to 253402300799)."


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "0001-01-01T00:00:00+14:00"}, "start"),  # year 0 in UTC: OverflowError on SQLite
        ({"end": "9999-12-31T23:59:59-14:00"}, "end"),  # year 10000 in UTC
        ({"start": "0001-01-01T00:00:00Z"}, "start"),
        ({"end": "1969-12-31T23:59:59Z"}, "end"),
        ({"end": "9" * 15}, "end"),  # Unix milliseconds in the year 33658
        ({"end": "253402300800000"}, "end"),  # the first millisecond of the year 10000
        ({"end": "1" + "0" * 15}, "end"),
    ],
)
def test_candles_refuse_instants_out_of_range_naming_the_parameter(api, coins, params, field):
    params = {"start": "2020-01-01T00:00:00Z", **params} if field == "end" else params
    response = api.get("/api/coins/BTC/candles", params)
    assert response.status_code == 400
    assert response.json() == {field: [RANGE_MESSAGE]}


def test_candles_take_the_extreme_instants_in_range(api, coins):
    store_1m_bars("BTC", 3)
    for start, end in [("1970-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"), ("0", "253402300799999")]:
        response = api.get("/api/coins/BTC/candles", {"timeframe": "1m", "start": start, "end": end})
        assert response.status_code == 200 and len(response.json()) == 3


def test_candles_query_count(api, coins, django_assert_num_queries):
    store_1m_bars("BTC", 50)
    with django_assert_num_queries(2):  # the coin, its bars
        api.get("/api/coins/BTC/candles", {"timeframe": "1m", "limit": 50})
    with django_assert_num_queries(1):  # bars come from the cache until the next bar opens
        api.get("/api/coins/BTC/candles", {"timeframe": "1m", "limit": 50})


# --- order book and trades --------------------------------------------------------------------


def test_orderbook_has_depth_levels_each_side_around_the_price(api, coins):
    publish({"BTC": ticker("BTC", 90000.0)}, version=1)
    body = api.get("/api/coins/BTC/orderbook", {"depth": 5}).json()
    assert body["symbol"] == "BTC"
    assert len(body["bids"]) == len(body["asks"]) == 5
    assert all(isinstance(v, float) for level in body["bids"] + body["asks"] for v in level)
    assert body["bids"][0][0] < body["asks"][0][0]
    assert abs(body["bids"][0][0] - 90000.0) < 1


@pytest.mark.parametrize("depth", [0, 101, "deep"])
def test_orderbook_rejects_bad_depth(api, coins, depth):
    response = api.get("/api/coins/BTC/orderbook", {"depth": depth})
    assert response.status_code == 400
    assert "depth" in response.json()


def test_orderbook_is_503_until_the_feed_has_published(api, coins):
    response = api.get("/api/coins/BTC/orderbook")
    assert response.status_code == 503
    assert "feed" in response.json()["detail"]


def test_trades_are_newest_first_and_limited(api, coins):
    exchange = SimulatedExchange(TEST_PROFILES, seed=1, start_ts=NOW)
    for second in range(1, 6):
        exchange.step(NOW + second)
    source = SimulatedSource(seed=1)
    source.exchange = exchange
    source._store_trades()
    body = api.get("/api/coins/ETH/trades", {"limit": 4}).json()
    assert len(body) == 4
    assert [t["id"] for t in body] == sorted((t["id"] for t in body), reverse=True)
    assert {t["side"] for t in body} <= {"buy", "sell"}
    assert api.get("/api/coins/ETH/trades", {"limit": 101}).status_code == 400


# --- auth, health, schema ---------------------------------------------------------------------


def test_jwt_token_pair_authenticates_and_refreshes(api, django_user_model):
    django_user_model.objects.create_user(username="trader", password="s3cret-pass-123")
    tokens = api.post("/api/auth/token/", {"username": "trader", "password": "s3cret-pass-123"}).json()
    assert api.get("/api/auth/me").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/api/auth/me").json()
    assert me["username"] == "trader" and len(me["id"]) == 36
    refreshed = api.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200 and "access" in refreshed.json()


def test_jwt_token_with_wrong_password_is_refused(api, django_user_model):
    django_user_model.objects.create_user(username="trader", password="s3cret-pass-123")
    response = api.post("/api/auth/token/", {"username": "trader", "password": "wrong"})
    assert response.status_code == 401


def test_health_is_200_when_every_component_is_up(api, coins):
    publish({"BTC": ticker("BTC", 1.0)}, version=int(time.time() * 1000))
    response = api.get("/api/health")
    assert response.status_code == 200
    components = response.json()["components"]
    assert set(components) == {"database", "cache", "channel_layer", "broker", "feed"}
    assert all(c["status"] == "ok" for c in components.values())
    assert components["feed"]["seconds_since_last_tick"] < 5


def test_health_names_the_source_the_stored_market_data_came_from(api, coins, settings):
    publish({"BTC": ticker("BTC", 1.0)}, version=int(time.time() * 1000))
    switched = datetime(2026, 12, 7, 0, 52, 11, tzinfo=UTC)
    MarketDataOrigin.objects.create(pk=1, source="binance", started_at=switched, backfilled_at=switched)

    feed = api.get("/api/health").json()["components"]["feed"]

    assert feed["source"] == settings.MARKET_SOURCE == "simulated"  # the one streaming now
    assert feed["stored_data"] == {"source": "binance", "since": "2026-12-07T00:52:11Z", "backfilled": True}


def test_health_is_degraded_before_the_feed_has_ticked(api, db):
    response = api.get("/api/health")
    assert response.status_code == 200  # the site serves what it has: a load balancer keeps it
    assert response.json()["status"] == "degraded"
    assert response.json()["components"]["feed"]["status"] == "down"


def test_health_is_degraded_when_the_feed_is_stale(api, coins, monkeypatch):
    publish({"BTC": ticker("BTC", 1.0)}, version=1)
    from django.core.cache import cache

    beat = snapshot.heartbeat_get()
    cache.set(snapshot.HEARTBEAT_KEY, {**beat, "received": beat["received"] - 60})
    body = api.get("/api/health").json()
    assert body["status"] == "degraded"
    assert body["components"]["feed"]["status"] == "stale"
    assert body["components"]["feed"]["seconds_since_last_tick"] >= 60


def test_health_is_degraded_when_the_exchange_data_is_delayed(api, coins):
    publish({"BTC": ticker("BTC", 1.0)}, version=int((time.time() - 42) * 1000))  # written now, 42 s old
    body = api.get("/api/health").json()
    assert body["status"] == "degraded"
    assert body["components"]["feed"]["status"] == "delayed"
    assert 42 <= body["components"]["feed"]["delay_seconds"] < 44
    assert body["components"]["feed"]["seconds_since_last_tick"] < 2


@pytest.mark.parametrize(
    ("component", "status_code", "site"),
    [
        ("cache", 200, "degraded"),  # the site serves from the database: a load balancer keeps it
        ("database", 503, "down"),  # nothing can be served
    ],
)
def test_health_reports_a_failing_component_as_down(api, coins, monkeypatch, component, status_code, site):
    publish({"BTC": ticker("BTC", 1.0)}, version=int(time.time() * 1000))

    def broken():
        raise ConnectionError("refused")

    monkeypatch.setattr(f"scalpaiboard.health.check_{component}", broken)
    response = api.get("/api/health")
    assert response.status_code == status_code
    assert response.json()["status"] == site
    assert response.json()["components"][component] == {"status": "down", "error": "ConnectionError: refused"}


def test_openapi_schema_documents_the_market_endpoints(api, db):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/coins", "/api/coins/{symbol}", "/api/coins/{symbol}/candles", "/api/auth/token/"]:
        assert path in paths
    parameters = {p["name"] for p in paths["/api/coins"]["get"]["parameters"]}
    assert {"limit", "offset", "ordering", "min_volume", "min_price", "max_price", "search"} <= parameters
    assert api.get("/api/docs/").status_code == 200


def test_openapi_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_metrics_are_exposed_for_prometheus(api, db):
    api.get("/api/health/live")
    body = api.get("/metrics").content.decode()
    assert 'scalpaiboard_http_requests_total{status="200",view="health-live"}' in body
    assert "scalpaiboard_feed_age_seconds" in body
