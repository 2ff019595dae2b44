"""The portfolio API: transactions as the contract takes them (numbers or decimal strings, answers as
decimal strings), every bad field a 400 naming it, overselling refused (also by an edit or a deletion),
another user's transaction a 404 on every method, positions and totals at live prices worked by hand,
the method setting, and fixed query counts however many transactions and coins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from markets.models import Coin
from watchlists.models import Transaction
from watchlists.portfolio_services import transaction_create

URL = "/api/portfolio/transactions"
DAY = datetime(2025, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def record(user, side="buy", symbol="BTC", quantity="1", price="100", hours=0, **fields) -> Transaction:
    body = {"side": side, "symbol": symbol, "quantity": quantity, "price": price, **fields}
    return transaction_create(user=user, data={**body, "time": (DAY + timedelta(hours=hours)).isoformat()})


def price_set(symbol: str, price: float, change_24h: float = 0.0) -> None:
    Coin.objects.filter(symbol=symbol).update(price=price, change_24h=change_24h)


# --- creating ---------------------------------------------------------------------------------------------


def test_creating_answers_201_with_decimal_strings(api):
    sent = {"side": "buy", "symbol": "btc", "quantity": 0.5, "price": "97123.45678901", "fee": 1.25}
    response = api.post(URL, {**sent, "time": "2025-03-01T12:00:00+02:00", "note": "first"}, format="json")
    assert response.status_code == 201
    created = response.json()
    assert response["Location"] == f"{URL}/{created['id']}"
    assert created == {
        "id": Transaction.objects.get().pk,
        "side": "buy",
        "symbol": "BTC",
        "quantity": "0.5",
        "price": "97123.45678901",
        "fee": "1.25",
        "time": "2025-03-01T10:00:00Z",
        "note": "first",
    }


def test_defaults_are_no_fee_now_and_no_note(api):
    before = timezone.now()
    created = api.post(URL, {"side": "transfer_in", "symbol": "ETH", "quantity": "2"}, format="json").json()
    assert (created["price"], created["fee"], created["note"]) == ("0", "0", "")
    assert before <= datetime.fromisoformat(created["time"]) <= timezone.now()


def test_eighteen_decimal_places_are_kept_exactly(api):
    sent = {"side": "buy", "symbol": "ETH", "quantity": "1.234567890123456789", "price": "0.000000000000000001"}
    created = api.post(URL, sent, format="json").json()
    assert (created["quantity"], created["price"]) == ("1.234567890123456789", "0.000000000000000001")
    assert Transaction.objects.get().quantity == D("1.234567890123456789")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", "NaN", "Must be a finite number"),
        ("quantity", "Infinity", "Must be a finite number"),
        ("quantity", "-1", "Must be greater than 0"),
        ("quantity", 0, "Must be greater than 0"),
        ("quantity", "0.0000000000000000001", "At most 18 decimal places"),
        ("quantity", "1e20", "Must be less than 10^20"),
        ("quantity", "ten", "Must be a decimal number"),
        ("quantity", True, "Must be a number or a decimal string"),
        ("price", -5, "Must be 0 or more"),
        ("fee", "-0.1", "Must be 0 or more"),
        ("side", "short", "Must be one of: buy, sell, transfer_in, transfer_out"),
        ("symbol", "NOPE", "Unknown coin symbol 'NOPE'"),
        ("time", "yesterday", "Must be an ISO 8601 date and time"),
        ("time", "2999-01-01T00:00:00Z", "Must be between 2009-01-03 and now"),
        ("note", "x" * 501, "Must be text of at most 500 characters"),
        ("colour", "red", "Unknown field; allowed: side, symbol, quantity, price, fee, time, note"),
    ],
)
def test_a_bad_field_is_a_400_naming_it(api, field, value, message):
    body = {"side": "buy", "symbol": "BTC", "quantity": "1", "price": "100", field: value}
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()[field][0].startswith(message)
    assert not Transaction.objects.exists()


def test_required_fields_are_named(api):
    response = api.post(URL, {"side": "buy"}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert errors["symbol"] == errors["quantity"] == ["Required."]
    assert errors["price"] == ["Required for a buy or a sell: USDT per coin."]


def test_nan_as_a_json_literal_is_a_400(api):
    response = api.post(URL, '{"side": "buy", "symbol": "BTC", "quantity": NaN}', content_type="application/json")
    assert response.status_code == 400


# --- overselling -------------------------------------------------------------------------------------------


def test_selling_more_than_held_at_that_time_is_a_400(api, user):
    record(user, quantity="1", hours=0)
    record(user, side="sell", quantity="1", hours=2)
    record(user, quantity="5", hours=4)  # bought later: not held at hour 3
    body = {
        "side": "sell",
        "symbol": "BTC",
        "quantity": "0.5",
        "price": "1",
        "time": (DAY + timedelta(hours=3)).isoformat(),
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["quantity"][0].startswith("More than was held at that time: this takes 0.5 BTC")
    assert Transaction.objects.count() == 3


def test_an_edit_that_leaves_a_later_sell_oversold_is_a_400_and_changes_nothing(api, user):
    buy = record(user, quantity="2", hours=0)
    sell = record(user, side="sell", quantity="1.5", hours=1)
    response = api.patch(f"{URL}/{buy.pk}", {"quantity": "1"}, format="json")
    assert response.status_code == 400
    assert response.json()["conflict"] == {"id": sell.pk, "side": "sell", "quantity": "1.5", "held": "1"}
    buy.refresh_from_db()
    assert buy.quantity == D(2)


def test_moving_a_buy_after_its_sell_is_a_400(api, user):
    buy = record(user, quantity="2", hours=0)
    record(user, side="sell", quantity="1", hours=1)
    later = (DAY + timedelta(hours=2)).isoformat()
    assert api.patch(f"{URL}/{buy.pk}", {"time": later}, format="json").status_code == 400


def test_a_deletion_that_leaves_a_later_sell_oversold_is_a_400(api, user):
    buy = record(user, quantity="2", hours=0)
    sell = record(user, side="transfer_out", quantity="1", price="0", hours=1)
    response = api.delete(f"{URL}/{buy.pk}")
    assert response.status_code == 400
    assert response.json()["conflict"]["id"] == sell.pk
    assert Transaction.objects.count() == 2
    assert api.delete(f"{URL}/{sell.pk}").status_code == 204
    assert api.delete(f"{URL}/{buy.pk}").status_code == 204
    assert not Transaction.objects.exists()


def test_an_edit_within_holdings_is_saved(api, user):
    record(user, quantity="2", hours=0)
    sell = record(user, side="sell", quantity="1", hours=1)
    response = api.patch(f"{URL}/{sell.pk}", {"quantity": "2", "price": 150, "note": "all"}, format="json")
    assert response.status_code == 200
    assert (response.json()["quantity"], response.json()["price"], response.json()["note"]) == ("2", "150", "all")


# --- ownership and lists -----------------------------------------------------------------------------------


def test_another_users_transaction_is_a_404_on_every_method(api, other):
    theirs = record(other)
    assert api.get(f"{URL}/{theirs.pk}").status_code == 404
    assert api.patch(f"{URL}/{theirs.pk}", {"note": "mine"}, format="json").status_code == 404
    assert api.delete(f"{URL}/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.note == ""
    assert api.get(URL).json()["count"] == 0


def test_anonymous_callers_are_refused(coins):
    assert APIClient().get(URL).status_code == 401
    assert APIClient().get("/api/portfolio").status_code == 401


def test_the_list_is_newest_first_paginated_and_filtered_by_symbol(api, user):
    for hours, symbol in enumerate(["BTC", "ETH", "BTC"]):
        record(user, symbol=symbol, hours=hours)
    page = api.get(URL, {"limit": 2}).json()
    assert page["count"] == 3 and [t["symbol"] for t in page["results"]] == ["BTC", "ETH"]
    assert page["results"][0]["time"] == "2025-03-01T14:00:00Z"
    assert [t["symbol"] for t in api.get(URL, {"symbol": "eth"}).json()["results"]] == ["ETH"]
    assert api.get(URL, {"limit": 0}).status_code == 400


@pytest.mark.parametrize("count", [1, 30])
def test_the_list_takes_a_fixed_number_of_queries(api, user, count, django_assert_num_queries):
    for hours in range(count):
        record(user, hours=hours)
    with django_assert_num_queries(2):  # the count, the page with its coins
        assert len(api.get(URL).json()["results"]) == count


# --- positions and totals ----------------------------------------------------------------------------------


def test_positions_and_totals_at_the_live_price_by_average_cost(api, user):
    # BTC: buy 2 at 100 (fee 2), buy 3 at 120 (fee 3), sell 1 at 150 (fee 1.5): 4 held costing 452,
    # realized 35.5 (see test_portfolio_maths). At 140, up 40 % in 24h (100 a day ago): value 560,
    # unrealized 108, P&L % (35.5 + 108) / 565 * 100 = 25.398230...; 24h change 4 * (140 - 100) = 160.
    # ETH: transfer in 10 at 0: value 10 * 50 = 500, cost 0, P&L % null (nothing invested).
    record(user, quantity="2", price="100", fee="2", hours=0)
    record(user, quantity="3", price="120", fee="3", hours=1)
    record(user, side="sell", quantity="1", price="150", fee="1.5", hours=2)
    record(user, side="transfer_in", symbol="ETH", quantity="10", price="0", hours=3)
    price_set("BTC", 140.0, 40.0)
    price_set("ETH", 50.0)
    answer = api.get("/api/portfolio").json()
    assert answer["method"] == "average"
    assert answer["positions"] == [
        {
            "symbol": "BTC",
            "quantity": "4",
            "average_buy_price": "113",
            "cost_basis": "452",
            "price": "140",
            "value": "560",
            "unrealized_pnl": "108",
            "realized_pnl": "35.5",
            "pnl_percent": "25.39823",  # 143.5 / 565 * 100 = 25.3982300884...
            "change_24h_value": "160",
            "allocation_percent": "52.830189",  # 560 / 1060 * 100 = 52.8301886...
        },
        {
            "symbol": "ETH",
            "quantity": "10",
            "average_buy_price": "0",
            "cost_basis": "0",
            "price": "50",
            "value": "500",
            "unrealized_pnl": "500",
            "realized_pnl": "0",
            "pnl_percent": None,
            "change_24h_value": "0",
            "allocation_percent": "47.169811",  # 500 / 1060 * 100 = 47.1698113...
        },
    ]
    # Totals: value 1060, cost 452, unrealized 608, realized 35.5, P&L % 643.5 / 565 * 100 = 113.893805...
    assert answer["totals"] == {
        "value": "1060",
        "cost_basis": "452",
        "unrealized_pnl": "608",
        "realized_pnl": "35.5",
        "pnl_percent": "113.893805",
        "change_24h_value": "160",
    }


def test_fifo_by_query_and_by_setting(api, user):
    # FIFO: the sell takes half the first lot (101): 4 held costing 464, average 116, realized 47.5.
    record(user, quantity="2", price="100", fee="2", hours=0)
    record(user, quantity="3", price="120", fee="3", hours=1)
    record(user, side="sell", quantity="1", price="150", fee="1.5", hours=2)
    fifo = api.get("/api/portfolio", {"method": "fifo"}).json()
    assert fifo["method"] == "fifo"
    assert (fifo["positions"][0]["cost_basis"], fifo["positions"][0]["realized_pnl"]) == ("464", "47.5")
    assert fifo["positions"][0]["average_buy_price"] == "116"
    assert api.get("/api/portfolio").json()["positions"][0]["cost_basis"] == "452"
    assert api.patch("/api/portfolio", {"method": "fifo"}, format="json").json()["method"] == "fifo"
    assert api.get("/api/portfolio").json()["positions"][0]["cost_basis"] == "464"
    assert api.get("/api/portfolio", {"method": "average"}).json()["positions"][0]["cost_basis"] == "452"


def test_a_bad_method_is_a_400_naming_it(api):
    assert "method" in api.get("/api/portfolio", {"method": "lifo"}).json()
    response = api.patch("/api/portfolio", {"method": "lifo"}, format="json")
    assert response.status_code == 400 and "method" in response.json()


def test_a_closed_position_keeps_its_realized_pnl(api, user):
    # Buy 1 at 100, sell 1 at 130 (fee 1): realized 29, nothing held; listed after the open ones.
    record(user, symbol="ETH", quantity="1", price="100", hours=0)
    record(user, symbol="ETH", side="sell", quantity="1", price="130", fee="1", hours=1)
    record(user, symbol="SOL", quantity="1", price="100", hours=2)
    answer = api.get("/api/portfolio").json()
    assert [p["symbol"] for p in answer["positions"]] == ["SOL", "ETH"]
    closed = answer["positions"][1]
    assert (closed["quantity"], closed["value"], closed["realized_pnl"], closed["average_buy_price"]) == (
        "0",
        "0",
        "29",
        None,
    )
    assert answer["totals"]["realized_pnl"] == "29"


def test_an_empty_portfolio(api):
    assert api.get("/api/portfolio").json() == {
        "method": "average",
        "positions": [],
        "totals": {
            "value": "0",
            "cost_basis": "0",
            "unrealized_pnl": "0",
            "realized_pnl": "0",
            "pnl_percent": None,
            "change_24h_value": "0",
        },
    }


def _coins(count: int) -> list[Coin]:
    now = timezone.now()
    return Coin.objects.bulk_create(
        Coin(symbol=f"C{i}", name=f"Coin {i}", rank=100 + i, price=1.0 + i, updated_at=now) for i in range(count)
    )


@pytest.mark.parametrize("positions", [1, 50])
def test_the_portfolio_takes_a_fixed_number_of_queries(api, user, positions, django_assert_num_queries):
    coins = _coins(positions)
    Transaction.objects.bulk_create(
        Transaction(user=user, coin=coin, side="buy", quantity=D(2), price=D(1), time=DAY) for coin in coins
    )
    with django_assert_num_queries(3):  # the method, the transactions, the coins' live prices
        answer = api.get("/api/portfolio").json()
    assert len(answer["positions"]) == positions


def test_positions_follow_every_write_though_cached(api, user, django_assert_num_queries):
    buy = record(user, quantity="2", price="100")
    assert api.get("/api/portfolio").json()["positions"][0]["quantity"] == "2"
    with django_assert_num_queries(2):  # the method and the live prices: the replay is cached
        api.get("/api/portfolio")
    api.patch(f"{URL}/{buy.pk}", {"quantity": "3"}, format="json")
    assert api.get("/api/portfolio").json()["positions"][0]["quantity"] == "3"
    record(user, side="sell", quantity="1", hours=1)
    assert api.get("/api/portfolio").json()["positions"][0]["quantity"] == "2"


def test_a_sell_beyond_holdings_stored_behind_the_services_still_reads(api, user, coins):
    record(user, quantity="1", price="100")
    Transaction.objects.create(user=user, coin=coins["BTC"], side="sell", quantity=D(5), price=D(120), time=DAY)
    position = api.get("/api/portfolio").json()["positions"][0]
    assert (position["quantity"], position["realized_pnl"]) == ("0", "20")  # 1 sold: 120 - 100
