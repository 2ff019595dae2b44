"""The portfolio's CSV export and import (a round trip; all or nothing, every bad row named by line and
field) and its daily value history from the 1d candles and each day's holdings, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from markets.models import Candle, Coin
from watchlists.models import Transaction
from watchlists.portfolio_selectors import transaction_as_json
from watchlists.portfolio_services import transaction_create

EXPORT, IMPORT = "/api/portfolio/transactions/export", "/api/portfolio/transactions/import"
HEADER = "time,side,symbol,quantity,price,fee,note"


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def record(user, **fields) -> Transaction:
    return transaction_create(user=user, data={"side": "buy", "symbol": "BTC", "quantity": "1", "price": "1", **fields})


def post_csv(api, text: str):
    return api.post(IMPORT, text.encode(), content_type="text/csv")


# --- CSV ------------------------------------------------------------------------------------------------------


def test_export_is_the_documented_header_and_a_row_per_transaction_oldest_first(api, user):
    record(user, quantity="0.5", price="97123.45678901", fee="1.2", time="2025-01-02T03:04:05Z", note='say "hi", ok')
    record(user, side="sell", quantity="0.25", price="100000", time="2025-02-01T00:00:00Z")
    response = api.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == [
        HEADER,
        '2025-01-02T03:04:05Z,buy,BTC,0.5,97123.45678901,1.2,"say ""hi"", ok"',
        "2025-02-01T00:00:00Z,sell,BTC,0.25,100000,0,",
    ]


def test_csv_round_trip_gives_back_the_same_transactions(api, user):
    record(user, symbol="ETH", quantity="1.234567890123456789", price="3000.5", time="2024-05-01T10:00:00Z")
    record(user, symbol="ETH", side="transfer_out", quantity="0.2", price="0", fee="0.01", time="2024-06-01T00:00:00Z")
    record(user, symbol="SOL", side="transfer_in", quantity="10", price="0", note="airdrop, line\ntwo")
    before = [{k: v for k, v in transaction_as_json(t).items() if k != "id"} for t in Transaction.objects.all()]
    exported = api.get(EXPORT).content.decode()
    Transaction.objects.all().delete()
    response = post_csv(api, exported)
    assert response.status_code == 201
    assert response.json()["count"] == 3
    after = [{k: v for k, v in transaction_as_json(t).items() if k != "id"} for t in Transaction.objects.all()]
    assert after == before


def test_an_import_with_bad_rows_imports_nothing_and_names_each_line_and_field(api, user):
    text = "\n".join(
        [
            HEADER,
            "2025-01-01T00:00:00Z,buy,BTC,1,100,0,good",
            "2025-01-02T00:00:00Z,buy,BTC,-3,100,0,bad quantity",  # line 3
            "2025-01-03T00:00:00Z,buy,ETH,1,100,0,good",
            "2025-01-04T00:00:00Z,buy,NOPE,1,,0,bad symbol and no price",  # line 5
            "2025-01-05T00:00:00Z,buy,BTC,1,100",  # line 6: short
        ]
    )
    response = post_csv(api, text)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Nothing was imported")
    assert [(row["line"], row["field"]) for row in response.json()["rows"]] == [
        (3, "quantity"),
        (5, "symbol"),
        (5, "price"),
        (6, "row"),
    ]
    assert not Transaction.objects.exists()


def test_an_import_that_oversells_imports_nothing(api, user):
    text = f"{HEADER}\n2025-01-01T00:00:00Z,buy,BTC,1,100,0,\n2025-01-02T00:00:00Z,sell,BTC,1.5,100,0,\n"
    response = post_csv(api, text)
    assert response.status_code == 400
    (row,) = response.json()["rows"]
    assert (row["line"], row["field"]) == (3, "quantity")
    assert row["message"].startswith("More than was held at that time: takes 1.5 BTC")
    assert not Transaction.objects.exists()


def test_a_wrong_header_is_line_1(api):
    response = post_csv(api, "date,side,coin\n2025-01-01,buy,BTC\n")
    assert response.json()["rows"] == [{"line": 1, "field": "header", "message": f"The first line must be: {HEADER}"}]


def test_an_upload_is_imported_too(api, user):
    upload = SimpleUploadedFile("t.csv", f"\ufeff{HEADER}\n2025-01-01,transfer_in,ETH,2,,,\n".encode())
    response = api.post(IMPORT, {"file": upload}, format="multipart")
    assert response.status_code == 201
    assert response.json()["transactions"][0] | {"id": 0} == {
        "id": 0,
        "side": "transfer_in",
        "symbol": "ETH",
        "quantity": "2",
        "price": "0",
        "fee": "0",
        "time": "2025-01-01T00:00:00Z",
        "note": "",
    }


def test_an_upload_without_its_file_or_not_utf8_is_a_400(api):
    assert "file" in api.post(IMPORT, {"other": "x"}, format="multipart").json()
    assert api.post(IMPORT, b"\xff\xfe\x00bad", content_type="text/csv").status_code == 400


# --- history --------------------------------------------------------------------------------------------------


def _day(days_ago: int) -> datetime:
    return datetime.combine(timezone.now().astimezone(UTC).date() - timedelta(days=days_ago), time(0), tzinfo=UTC)


def _bar(symbol: str, days_ago: int, close: float) -> None:
    coin = Coin.objects.get(symbol=symbol)
    Candle.objects.create(
        coin=coin, timeframe="1d", open_time=_day(days_ago), open=close, high=close, low=close, close=close, volume=1
    )


def test_history_is_each_days_holdings_at_its_close(api, user):
    # BTC closes 100, 110, 120 three, two and one days ago; 130 live today. ETH closed 10 three days ago
    # and has no bar since (carried); 20 live today.
    for days_ago, close in [(3, 100.0), (2, 110.0), (1, 120.0)]:
        _bar("BTC", days_ago, close)
    _bar("ETH", 3, 10.0)
    Coin.objects.filter(symbol="BTC").update(price=130.0)
    Coin.objects.filter(symbol="ETH").update(price=20.0)
    record(user, quantity="1", time=(_day(3) + timedelta(hours=10)).isoformat())
    record(
        user, symbol="ETH", side="transfer_in", quantity="1", price="0", time=(_day(2) + timedelta(hours=1)).isoformat()
    )
    record(user, quantity="1", time=(_day(1) + timedelta(hours=23)).isoformat())
    record(user, side="sell", quantity="0.5")  # now, today
    # 3 days ago: 1 BTC * 100 = 100; 2: 1*110 + 1 ETH*10 = 120; 1: 2*120 + 10 = 250; today: 1.5*130 + 20 = 215.
    history = api.get("/api/portfolio/history", {"days": 4}).json()
    assert history == [
        {"date": _day(3).date().isoformat(), "value": "100"},
        {"date": _day(2).date().isoformat(), "value": "120"},
        {"date": _day(1).date().isoformat(), "value": "250"},
        {"date": _day(0).date().isoformat(), "value": "215"},
    ]


def test_history_defaults_to_90_days_and_bounds_days(api, user):
    assert len(api.get("/api/portfolio/history").json()) == 90
    for days in ("0", "366", "x"):
        response = api.get("/api/portfolio/history", {"days": days})
        assert response.status_code == 400 and "days" in response.json()


@pytest.mark.parametrize("coin_count", [1, 4])
def test_history_takes_a_fixed_number_of_queries(api, user, coin_count, django_assert_num_queries):
    for symbol in ["BTC", "ETH", "SOL", "DOGE"][:coin_count]:
        record(user, symbol=symbol, time="2025-01-01T00:00:00Z")
    with django_assert_num_queries(3):  # transactions, candles, live prices
        assert len(api.get("/api/portfolio/history", {"days": 30}).json()) == 30


def test_history_follows_a_new_transaction_though_cached(api, user):
    # BTC's live price is 90,000 (the test market): 1 BTC today, then 1.5 after another buy.
    record(user, quantity="1", time=(_day(1)).isoformat())
    assert api.get("/api/portfolio/history", {"days": 1}).json()[0]["value"] == "90000"
    record(user, quantity="0.5")
    assert api.get("/api/portfolio/history", {"days": 1}).json()[0]["value"] == "135000"
