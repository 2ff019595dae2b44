"""The OpenAPI schema tells the truth: candles and trades as the plain arrays they are, every error
status an operation can answer with the body it has, parameter bounds, empty query values and text
as the API reads them. (scalpaiboard/tests/test_api_fuzz.py checks the schema against generated
requests; these are the rules, and the answers a fuzzer does not reach: 429, 415, 500, 503.)"""

from __future__ import annotations

import re

import jsonschema
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from scalpaiboard.schema import NO_NUL, NOT_BLANK_NO_NUL, SPACE


@pytest.fixture(scope="module")
def spec() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operation(spec: dict, path: str, method: str = "get") -> dict:
    return spec["paths"][path][method]


def parameters(spec: dict, path: str, method: str = "get") -> dict[str, dict]:
    return {p["name"]: p for p in operation(spec, path, method).get("parameters", [])}


def assert_documented(spec: dict, response, path: str, method: str = "get") -> None:
    """The answer's status is documented for the operation, and its body is what the schema says."""
    documented = operation(spec, path, method)["responses"][str(response.status_code)]
    reference = documented["content"]["application/json"]["schema"]["$ref"]
    component = spec["components"]["schemas"][reference.rsplit("/", 1)[1]]
    jsonschema.validate(response.json(), component)


# --- shapes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "item", "names"),
    [
        ("/api/coins/{symbol}/candles", "Candle", {"symbol", "timeframe", "limit", "start", "end"}),
        ("/api/coins/{symbol}/trades", "Trade", {"symbol", "limit"}),
    ],
)
def test_candles_and_trades_are_plain_arrays_without_the_coin_lists_filters_or_pages(spec, path, item, names):
    body = operation(spec, path)["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}
    assert set(parameters(spec, path)) == names


def test_the_coin_list_is_paginated_and_filtered(spec):
    body = operation(spec, "/api/coins")["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PaginatedCoinList"}
    assert {"limit", "offset", "ordering", "search", "min_price", "min_change"} <= set(parameters(spec, "/api/coins"))


# --- errors ---------------------------------------------------------------------------------------

ERRORS_BY_OPERATION = [
    ("/api/auth/me", "get", {"401", "429", "500"}),
    ("/api/auth/token/", "post", {"400", "401", "415", "429", "500"}),
    ("/api/auth/token/refresh/", "post", {"400", "401", "415", "429", "500"}),
    ("/api/coins", "get", {"400", "401", "429", "500"}),
    ("/api/coins/{symbol}", "get", {"401", "404", "429", "500"}),
    ("/api/coins/{symbol}/candles", "get", {"400", "401", "404", "429", "500"}),
    ("/api/coins/{symbol}/orderbook", "get", {"400", "401", "404", "429", "500", "503"}),
    ("/api/coins/{symbol}/trades", "get", {"400", "401", "404", "429", "500", "503"}),
    ("/api/coins/{symbol}/analysis", "get", {"400", "401", "404", "429", "500"}),
    ("/api/screener", "get", {"400", "401", "429", "500"}),
    ("/api/alerts", "get", {"400", "401", "429", "500"}),
    ("/api/alerts", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/alerts/{id}", "get", {"401", "404", "429", "500"}),
    ("/api/alerts/{id}", "put", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/alerts/{id}", "patch", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/alerts/{id}", "delete", {"401", "403", "404", "429", "500"}),
    ("/api/alerts/{id}/history", "get", {"400", "401", "404", "429", "500"}),
    ("/api/alerts/{id}/pause", "post", {"401", "403", "404", "429", "500"}),
    ("/api/alerts/{id}/resume", "post", {"400", "401", "403", "404", "429", "500"}),
    ("/api/alerts/backtest", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/alerts/bulk", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/alerts/export", "get", {"401", "429", "500"}),
    ("/api/alerts/import", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/notifications", "get", {"400", "401", "429", "500"}),
    ("/api/notifications/read", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/ai/providers", "get", {"401", "429", "500"}),
    ("/api/ai/providers", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/ai/providers/{id}", "get", {"401", "404", "429", "500"}),
    ("/api/ai/providers/{id}", "put", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/ai/providers/{id}", "patch", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/ai/providers/{id}", "delete", {"401", "403", "404", "429", "500"}),
    ("/api/ai/providers/{id}/test", "post", {"401", "403", "404", "429", "500"}),
    ("/api/ai/providers/{id}/models", "get", {"401", "404", "429", "500", "502"}),
    ("/api/ai/providers/{id}/budget", "put", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/ai/usage", "get", {"400", "401", "429", "500"}),
    ("/api/ai/chat", "post", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/ai/chat/{message_id}/events", "get", {"400", "401", "404", "429", "500"}),
    ("/api/ai/chat/{message_id}/stop", "post", {"401", "403", "404", "429", "500"}),
    ("/api/ai/conversations", "get", {"400", "401", "429", "500"}),
    ("/api/ai/conversations/{conversation_id}", "get", {"401", "404", "429", "500"}),
    ("/api/ai/conversations/{conversation_id}", "patch", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/ai/conversations/{conversation_id}", "delete", {"401", "403", "404", "429", "500"}),
    ("/api/ai/actions/{action_id}/undo", "post", {"400", "401", "403", "404", "409", "429", "500"}),
    ("/api/ai/actions/{action_id}/confirm", "post", {"400", "401", "403", "404", "409", "429", "500"}),
    ("/api/ai/actions/{action_id}/decline", "post", {"400", "401", "403", "404", "409", "429", "500"}),
    ("/api/ai/settings", "get", {"401", "429", "500"}),
    ("/api/ai/settings", "put", {"400", "401", "403", "415", "429", "500"}),
    ("/api/notifications/channels", "get", {"400", "401", "429", "500"}),
    ("/api/notifications/channels", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/notifications/channels/{id}", "get", {"401", "404", "429", "500"}),
    ("/api/notifications/channels/{id}", "patch", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/notifications/channels/{id}", "delete", {"401", "403", "404", "429", "500"}),
    ("/api/notifications/channels/{id}/test", "post", {"401", "403", "404", "429", "500"}),
    ("/api/notifications/deliveries", "get", {"400", "401", "429", "500"}),
    ("/api/notifications/deliveries/{id}/replay", "post", {"401", "403", "404", "429", "500"}),
    ("/api/notifications/telegram/connect", "post", {"401", "403", "429", "500", "503"}),
    ("/api/watchlist", "get", {"400", "401", "429", "500"}),
    ("/api/watchlist", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/watchlist/{symbol}", "delete", {"401", "403", "404", "429", "500"}),
    ("/api/watchlists", "get", {"401", "429", "500"}),
    ("/api/watchlists", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/watchlists/{id}", "get", {"400", "401", "404", "429", "500"}),
    ("/api/watchlists/{id}", "patch", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/watchlists/{id}", "delete", {"400", "401", "403", "404", "429", "500"}),
    ("/api/watchlists/{id}/items", "post", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/watchlists/{id}/items/{symbol}", "get", {"401", "404", "429", "500"}),
    ("/api/watchlists/{id}/items/{symbol}", "patch", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/watchlists/{id}/items/{symbol}", "delete", {"401", "403", "404", "429", "500"}),
    ("/api/watchlists/{id}/order", "post", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/portfolio", "get", {"400", "401", "429", "500"}),
    ("/api/portfolio", "patch", {"400", "401", "403", "415", "429", "500"}),
    ("/api/portfolio/history", "get", {"400", "401", "429", "500"}),
    ("/api/portfolio/transactions", "get", {"400", "401", "429", "500"}),
    ("/api/portfolio/transactions", "post", {"400", "401", "403", "415", "429", "500"}),
    ("/api/portfolio/transactions/{id}", "get", {"401", "404", "429", "500"}),
    ("/api/portfolio/transactions/{id}", "patch", {"400", "401", "403", "404", "415", "429", "500"}),
    ("/api/portfolio/transactions/{id}", "delete", {"400", "401", "403", "404", "429", "500"}),
    ("/api/portfolio/transactions/export", "get", {"401", "429", "500"}),
    ("/api/portfolio/transactions/import", "post", {"400", "401", "403", "415", "429", "500"}),
]


@pytest.mark.parametrize(("path", "method", "errors"), ERRORS_BY_OPERATION)
def test_each_operation_documents_the_errors_it_can_answer_with_their_bodies(spec, path, method, errors):
    responses = operation(spec, path, method)["responses"]
    assert {code for code in responses if code >= "400"} == errors
    for code in errors:
        assert set(responses[code]["content"]) == {"application/json"}
        assert responses[code]["content"]["application/json"]["schema"]["$ref"].startswith("#/components/schemas/")
        assert responses[code]["description"]
    assert responses["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}


def test_every_operation_is_in_the_table_above(spec):
    """A new endpoint is added to ERRORS_BY_OPERATION, which says what it answers."""
    listed = {(path, method) for path, method, _ in ERRORS_BY_OPERATION}
    assert {(path, method) for path, item in spec["paths"].items() for method in item} - listed <= {
        ("/api/coins/{symbol}/patterns", "get")  # as /analysis
    }


@pytest.fixture
def api():
    return APIClient()


def test_a_400_is_the_documented_body(spec, api, coins):
    assert_documented(spec, api.get("/api/coins/BTC/candles", {"limit": 0}), "/api/coins/{symbol}/candles")
    assert_documented(spec, api.get("/api/coins", {"min_price": "-1"}), "/api/coins")
    unreadable = api.post("/api/auth/token/", b'{"username": ', content_type="application/json")
    assert_documented(spec, unreadable, "/api/auth/token/", "post")


def test_a_401_is_the_documented_body(spec, api, db):
    assert_documented(spec, api.get("/api/auth/me"), "/api/auth/me")
    bad_token = api.get("/api/coins", HTTP_AUTHORIZATION="Bearer not.a.token")
    assert bad_token.status_code == 401
    assert_documented(spec, bad_token, "/api/coins")
    wrong_password = api.post("/api/auth/token/", {"username": "nobody", "password": "wrong"}, format="json")
    assert_documented(spec, wrong_password, "/api/auth/token/", "post")


def test_a_404_415_and_503_are_the_documented_bodies(spec, api, coins):
    assert_documented(spec, api.get("/api/coins/NOPE"), "/api/coins/{symbol}")
    plain_text = api.post("/api/auth/token/", "username=a", content_type="text/plain")
    assert plain_text.status_code == 415
    assert_documented(spec, plain_text, "/api/auth/token/", "post")
    not_published = api.get("/api/coins/BTC/orderbook")
    assert not_published.status_code == 503
    assert_documented(spec, not_published, "/api/coins/{symbol}/orderbook")


def test_a_429_is_the_documented_body_and_header(spec, api, db, monkeypatch, settings):
    monkeypatch.setattr(
        "rest_framework.throttling.SimpleRateThrottle.THROTTLE_RATES", {"anon": "1/min", "user": None, "login": None}
    )
    api.get("/api/screener")
    throttled = api.get("/api/screener")
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    assert_documented(spec, throttled, "/api/screener")
    settings.AXES_FAILURE_LIMIT = 1  # the failure that reaches the limit is refused
    attempt = {"username": "someone", "password": "wrong"}
    locked_out = api.post("/api/auth/token/", attempt, format="json", REMOTE_ADDR="10.9.0.1")
    assert locked_out.status_code == 429 and locked_out.json()["retry_after"] > 0
    assert_documented(spec, locked_out, "/api/auth/token/", "post")


def test_a_500_is_the_documented_body(spec, db, monkeypatch):
    def broken(**query):
        raise RuntimeError("a bug")

    monkeypatch.setattr("markets.api.views.coins_screen", broken)
    response = Client(raise_request_exception=False).get("/api/screener")
    assert response.status_code == 500
    assert_documented(spec, response, "/api/screener")


# --- parameters -----------------------------------------------------------------------------------


def test_each_operation_takes_the_path_parameters_of_its_path(spec):
    for path, item in spec["paths"].items():
        for method in item:
            in_path = {name for name, p in parameters(spec, path, method).items() if p["in"] == "path"}
            assert in_path == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_the_coin_symbol_has_an_example(spec):
    symbol = parameters(spec, "/api/coins/{symbol}/analysis")["symbol"]
    assert symbol["examples"] == {"Bitcoin": {"value": "BTC"}}


def test_parameter_bounds_are_in_the_schema(spec):
    coins = parameters(spec, "/api/coins")
    assert {k: coins["limit"]["schema"][k] for k in ("minimum", "maximum", "default")} == {
        "minimum": 1,
        "maximum": 500,
        "default": 50,
    }
    assert (coins["offset"]["schema"]["minimum"], coins["offset"]["schema"]["maximum"]) == (0, 10**9)
    assert (coins["min_price"]["schema"]["minimum"], coins["min_price"]["schema"]["maximum"]) == (0, 1e15)
    assert (coins["min_change"]["schema"]["minimum"], coins["min_change"]["schema"]["maximum"]) == (-1e15, 1e15)
    assert coins["search"]["schema"]["maxLength"] == 50
    start = parameters(spec, "/api/coins/{symbol}/candles")["start"]["schema"]
    assert start == {
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "integer", "minimum": 0, "maximum": 253_402_300_799_999},
        ]
    }


def test_comma_separated_lists_are_arrays_sent_as_one_value(spec):
    analysis = parameters(spec, "/api/coins/{symbol}/analysis")
    sma = analysis["sma"]
    assert (sma["style"], sma["explode"]) == ("form", False)
    assert sma["schema"] == {
        "type": "array",
        "items": {"type": "integer", "minimum": 2, "maximum": 500},
        "minItems": 1,
        "maxItems": 6,
        "default": [9, 21, 50, 200],
    }
    assert analysis["timeframes"]["schema"]["items"]["enum"] == ["1m", "5m", "15m", "1h", "4h", "1d"]
    assert parameters(spec, "/api/coins")["ordering"]["explode"] is False


def test_every_optional_query_parameter_may_be_empty(spec):
    optional = [
        p
        for item in spec["paths"].values()
        for op in item.values()
        for p in op.get("parameters", [])
        if p["in"] == "query" and not p.get("required")
    ]
    assert len(optional) > 40
    assert all(p["allowEmptyValue"] is True for p in optional)


@pytest.mark.parametrize(
    "path",
    [
        "/api/coins",
        "/api/coins/{symbol}/candles",
        "/api/coins/{symbol}/orderbook",
        "/api/coins/{symbol}/trades",
        "/api/coins/{symbol}/analysis",
        "/api/coins/{symbol}/patterns",
        "/api/screener",
    ],
)
def test_an_empty_query_value_is_the_same_as_leaving_the_parameter_out(spec, api, coins, path):
    url = path.replace("{symbol}", "BTC")
    names = [name for name, p in parameters(spec, path).items() if p["in"] == "query"]
    plain = api.get(url)
    for name in names:
        empty = api.get(url, {name: ""})
        assert (empty.status_code, ageless(empty.json())) == (plain.status_code, ageless(plain.json())), name
    every_empty = api.get(url, dict.fromkeys(names, ""))
    assert (every_empty.status_code, ageless(every_empty.json())) == (plain.status_code, ageless(plain.json()))


def ageless(body):
    """An answer without its coins' ages, which grow with the clock from one answer to the next."""
    if isinstance(body, dict) and "results" in body:
        return {**body, "results": [{k: v for k, v in item.items() if k != "age"} for item in body["results"]]}
    return body


def test_an_empty_filter_is_ignored_on_the_dashboard_as_on_the_api(api, coins):
    empty = {"search": "", "min_price": "", "max_price": "", "min_volume": "", "min_change": "", "ordering": ""}
    page = Client().get("/", empty)
    assert not page.context["filter"].errors
    assert [c.symbol for c in page.context["page"]] == [c.symbol for c in Client().get("/").context["page"]]
    assert ageless(api.get("/api/coins", empty).json()) == ageless(api.get("/api/coins").json())


# --- text -----------------------------------------------------------------------------------------


def test_the_white_space_class_is_what_str_strip_takes_off():
    space = re.compile(f"[{SPACE}]")
    assert all(bool(space.fullmatch(chr(c))) == chr(c).isspace() for c in range(0x110000))


def test_text_in_a_request_is_documented_without_nul_and_not_blank_where_refused(spec, api, db):
    credentials = spec["components"]["schemas"]["TokenObtainPairRequest"]["properties"]
    assert credentials["username"]["pattern"] == credentials["password"]["pattern"] == NOT_BLANK_NO_NUL
    assert parameters(spec, "/api/coins")["search"]["schema"]["pattern"] == NO_NUL
    for username in [" \t\u0085", "a\x00b"]:
        refused = api.post("/api/auth/token/", {"username": username, "password": "x"}, format="json")
        assert refused.status_code == 400 and "username" in refused.json()
        assert not re.fullmatch(NOT_BLANK_NO_NUL, username)
