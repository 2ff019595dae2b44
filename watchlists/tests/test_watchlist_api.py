"""The watchlists API: the seed's default list, named lists and their coins, every bad input a 400
naming the field, another user's list a 404 on every method, anonymous requests a 401, and the same
number of queries for a list of 1 coin as of 200."""

from __future__ import annotations

import re

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from alerts.models import Alert
from watchlists import services
from watchlists.models import Watchlist, WatchlistItem
from watchlists.selectors import ITEM_FIELDS
from watchlists.tests.watchlist_fixtures import api_for, candle_add, coins_make, hours_back, items_make

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def api(user) -> APIClient:
    return api_for(user)


def symbols_of(watchlist: Watchlist) -> list[str]:
    return list(WatchlistItem.objects.filter(watchlist=watchlist).values_list("coin__symbol", flat=True))


# --- the default list (the seed's endpoints) -------------------------------------------------------


def test_the_default_list_answers_its_items_with_their_figures(api, default):
    services.watchlist_item_add(watchlist=default, symbol="ETH", note="l2s")
    answer = api.get("/api/watchlist").json()
    assert ISO_MS.match(answer.pop("created_at"))
    (item,) = answer.pop("items")
    assert answer == {"id": default.pk, "name": "Watchlist", "is_default": True, "position": 0, "item_count": 1}
    assert tuple(item) == ITEM_FIELDS
    assert ISO_MS.match(item["added_at"])
    assert (item["symbol"], item["name"], item["price"], item["change24h"], item["note"]) == (
        "ETH",
        "Ethereum",
        3000.0,
        -4.0,
        "l2s",
    )


def test_adding_to_the_default_list_answers_201_with_the_item(api, default):
    response = api.post("/api/watchlist", {"symbol": "btc", "note": "core"}, format="json")
    assert response.status_code == 201
    item = response.json()
    assert (item["symbol"], item["added_price"], item["change_since_added"], item["position"]) == (
        "BTC",
        90000.0,
        0.0,
        0,
    )
    assert response["Location"] == f"/api/watchlists/{default.pk}/items/BTC"
    assert symbols_of(default) == ["BTC"]


@pytest.mark.parametrize(
    ("sent", "field", "said"),
    [
        ({"symbol": "NOPE"}, "symbol", "Unknown coin symbol 'NOPE'"),
        ({}, "symbol", "This field is required."),
        ({"symbol": "BTC", "note": "x" * 501}, "note", "Ensure this field has no more than 500 characters."),
        ({"symbol": "BTC", "colour": "red"}, "colour", "Unknown field; allowed: symbol, note."),
        ({"symbol": ["BTC"]}, "symbol", "Not a valid string."),
    ],
)
def test_a_bad_coin_is_a_400_naming_the_field(api, default, sent, field, said):
    response = api.post("/api/watchlist", sent, format="json")
    assert response.status_code == 400
    assert response.json()[field][0].startswith(said)
    assert symbols_of(default) == []


def test_adding_a_coin_twice_is_a_400_naming_symbol(api, default):
    assert api.post("/api/watchlist", {"symbol": "BTC"}, format="json").status_code == 201
    response = api.post("/api/watchlist", {"symbol": "Btc"}, format="json")
    assert (response.status_code, response.json()["symbol"]) == (400, ["Already on this list: BTC is on Watchlist."])


def test_removing_from_the_default_list_answers_204_then_404(api, default):
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    assert api.delete("/api/watchlist/BTC%00").status_code == 404
    assert api.get(f"/api/watchlists/{default.pk}/items/BTC%00").status_code == 404
    assert api.delete("/api/watchlist/btc").status_code == 204
    response = api.delete("/api/watchlist/BTC")
    assert (response.status_code, response.json()["detail"]) == (404, "BTC is not on Watchlist.")


# --- named lists -----------------------------------------------------------------------------------


def test_lists_are_made_renamed_listed_and_deleted(api, default):
    response = api.post("/api/watchlists", {"name": "Majors"}, format="json")
    assert response.status_code == 201
    made = response.json()
    assert response["Location"] == f"/api/watchlists/{made['id']}"
    assert (made["name"], made["is_default"], made["item_count"]) == ("Majors", False, 0)
    api.post(f"/api/watchlists/{made['id']}/items", {"symbol": "SOL"}, format="json")
    renamed = api.patch(f"/api/watchlists/{made['id']}", {"name": "Large caps"}, format="json").json()
    assert (renamed["name"], renamed["item_count"]) == ("Large caps", 1)
    listed = [(w["name"], w["item_count"]) for w in api.get("/api/watchlists").json()]
    assert listed == [("Watchlist", 0), ("Large caps", 1)]
    assert api.delete(f"/api/watchlists/{made['id']}").status_code == 204
    assert list(Watchlist.objects.values_list("name", flat=True)) == ["Watchlist"]


def test_a_taken_or_empty_name_is_a_400_naming_name(api, default):
    for name in ("watchlist", "", "x" * 101):
        response = api.post("/api/watchlists", {"name": name}, format="json")
        assert (response.status_code, list(response.json())[-1]) == (400, "name")


def test_deleting_the_default_list_is_a_400(api, default):
    response = api.delete(f"/api/watchlists/{default.pk}")
    assert response.status_code == 400 and "watchlist" in response.json()
    assert Watchlist.objects.filter(pk=default.pk).exists()


def test_items_are_added_with_target_and_stop_edited_and_removed(api, user, default):
    url = f"/api/watchlists/{default.pk}/items"
    added = api.post(url, {"symbol": "eth", "target_price": 3500, "stop_price": "2500"}, format="json").json()
    alerts = {a.condition["kind"]: (a.pk, a.condition["level"]) for a in Alert.objects.filter(user=user)}
    assert alerts == {"crossing_up": (added["target_alert"], 3500.0), "crossing_down": (added["stop_alert"], 2500.0)}
    edited = api.patch(f"{url}/ETH", {"target_price": 4000, "stop_price": None, "note": "n"}, format="json").json()
    assert (edited["target_price"], edited["stop_price"], edited["stop_alert"], edited["note"]) == (
        4000.0,
        None,
        None,
        "n",
    )
    assert [(a.pk, a.condition["level"]) for a in Alert.objects.filter(user=user)] == [(added["target_alert"], 4000.0)]
    assert api.get(f"{url}/eth").json() == {**edited}
    assert api.delete(f"{url}/eth").status_code == 204
    assert not Alert.objects.filter(user=user).exists()


@pytest.mark.parametrize("price", [0, -1, "abc", 1e13, True])
def test_a_bad_target_is_a_400_naming_it(api, default, price):
    services.watchlist_item_add(watchlist=default, symbol="BTC")
    response = api.patch(f"/api/watchlists/{default.pk}/items/BTC", {"target_price": price}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["target_price"])
    assert not Alert.objects.exists()


def test_reordering_answers_the_new_order(api, default):
    for symbol in ("BTC", "ETH", "SOL"):
        services.watchlist_item_add(watchlist=default, symbol=symbol)
    response = api.post(f"/api/watchlists/{default.pk}/order", {"symbols": ["sol", "eth", "btc"]}, format="json")
    assert response.json() == {"symbols": ["SOL", "ETH", "BTC"]}
    assert [i["symbol"] for i in api.get("/api/watchlist").json()["items"]] == ["SOL", "ETH", "BTC"]
    response = api.post(f"/api/watchlists/{default.pk}/order", {"symbols": ["sol", "eth"]}, format="json")
    assert response.status_code == 400 and "missing: BTC" in response.json()["symbols"][0]


def test_items_are_sorted_by_any_field_and_a_bad_ordering_is_a_400(api, default):
    for symbol in ("BTC", "DOGE", "ETH"):
        services.watchlist_item_add(watchlist=default, symbol=symbol)
    answer = api.get(f"/api/watchlists/{default.pk}?ordering=-change24h").json()
    assert [i["symbol"] for i in answer["items"]] == ["BTC", "DOGE", "ETH"]  # +2, -1, -4
    response = api.get("/api/watchlist?ordering=password")
    assert response.status_code == 400 and list(response.json()) == ["ordering"]


# --- whose lists -----------------------------------------------------------------------------------


def test_another_users_list_is_404_on_every_method_and_stays_as_it_was(api, other):
    theirs = services.watchlist_create(user=other, name="Theirs")
    services.watchlist_item_add(watchlist=theirs, symbol="BTC", target_price=100000)
    base = f"/api/watchlists/{theirs.pk}"
    calls = [
        ("get", base, None),
        ("patch", base, {"name": "Mine"}),
        ("delete", base, None),
        ("post", f"{base}/items", {"symbol": "ETH"}),
        ("get", f"{base}/items/BTC", None),
        ("patch", f"{base}/items/BTC", {"target_price": 1}),
        ("delete", f"{base}/items/BTC", None),
        ("post", f"{base}/order", {"symbols": ["BTC"]}),
    ]
    for method, url, data in calls:
        assert getattr(api, method)(url, data, format="json").status_code == 404, (method, url)
    theirs.refresh_from_db()
    assert (theirs.name, symbols_of(theirs)) == ("Theirs", ["BTC"])
    assert [a.condition["level"] for a in Alert.objects.all()] == [100000]
    assert all(w["name"] != "Theirs" for w in api.get("/api/watchlists").json())


def test_anonymous_requests_are_401(coins):
    client = APIClient()
    for method, url in [
        ("get", "/api/watchlist"),
        ("post", "/api/watchlist"),
        ("delete", "/api/watchlist/BTC"),
        ("get", "/api/watchlists"),
        ("post", "/api/watchlists"),
        ("get", "/api/watchlists/1"),
        ("patch", "/api/watchlists/1"),
        ("delete", "/api/watchlists/1"),
        ("post", "/api/watchlists/1/items"),
        ("patch", "/api/watchlists/1/items/BTC"),
        ("delete", "/api/watchlists/1/items/BTC"),
        ("post", "/api/watchlists/1/order"),
    ]:
        assert getattr(client, method)(url).status_code == 401, (method, url)


def test_a_session_signs_in_as_well_as_a_token(client, user, default):
    token = AccessToken.for_user(user)
    assert APIClient().get("/api/watchlist", HTTP_AUTHORIZATION=f"Bearer {token}").json()["id"] == default.pk
    client.force_login(user)
    assert client.get("/api/watchlist").json()["id"] == default.pk


# --- queries ---------------------------------------------------------------------------------------


def test_the_default_list_takes_as_many_queries_for_200_coins_as_for_1(api, default, django_assert_num_queries):
    made = coins_make(200)
    for coin in made:
        candle_add(coin, "1h", hours_back(coin.updated_at, 2), 9.0)
    url = "/api/watchlist?sparkline=true&ordering=-volume24h"
    items_make(default, made[:1])
    # The user's default list, its items, their closes 7 and 30 days ago, the sparklines; the last two
    # only for coins whose figures of this hour are not cached yet.
    with django_assert_num_queries(4):
        one = api.get(url).json()
    with django_assert_num_queries(2):
        api.get(url)
    WatchlistItem.objects.all().delete()
    items_make(default, made)
    with django_assert_num_queries(4):  # 199 coins not cached
        many = api.get(url).json()
    with django_assert_num_queries(2):
        assert api.get(url).json()["items"] == many["items"]
    assert (len(one["items"]), len(many["items"])) == (1, 200)
    assert many["items"][0]["sparkline"] == [9.0]


def test_the_lists_take_one_query_however_many(api, user, default, django_assert_num_queries):
    for n in range(20):
        services.watchlist_create(user=user, name=f"List {n}")
    with django_assert_num_queries(1):
        assert len(api.get("/api/watchlists").json()) == 21


def test_the_answers_are_what_the_schema_says(api, default, coins):
    spec = SchemaGenerator().get_schema(request=None, public=True)
    services.watchlist_item_add(watchlist=default, symbol="BTC", target_price=100000)
    candle_add(coins["BTC"], "1h", hours_back(coins["BTC"].updated_at, 1), 88000.0)
    checks = [
        (api.get("/api/watchlist?sparkline=true"), "/api/watchlist", "get", "200"),
        (api.post("/api/watchlist", {"symbol": "ETH"}, format="json"), "/api/watchlist", "post", "201"),
        (api.get("/api/watchlists"), "/api/watchlists", "get", "200"),
        (api.get(f"/api/watchlists/{default.pk}/items/btc"), "/api/watchlists/{id}/items/{symbol}", "get", "200"),
    ]
    for response, path, method, code in checks:
        assert str(response.status_code) == code
        schema = spec["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]
        jsonschema.validate(response.json(), as_json_schema({**schema, "components": spec["components"]}))


def as_json_schema(schema):
    """OpenAPI 3.0's ``nullable`` as JSON Schema's null type."""
    if isinstance(schema, list):
        return [as_json_schema(part) for part in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: as_json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in schema:
        converted["type"] = [schema["type"], "null"]
    return converted
