"""export_results and its download: CSV or JSON of a result set or of the user's alerts, watchlist or
portfolio; a link only its owner opens (404 for anyone else), until it expires (410); CSV cells that a
spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.services import alert_create
from assistant.models import Export
from assistant.tests.tools.conftest import run
from assistant.tools import ToolError
from assistant.tools.export_results import csv_cell
from watchlists.portfolio_services import transaction_create
from watchlists.selectors import watchlist_default_get
from watchlists.services import watchlist_create, watchlist_item_add

CROSSING = {"kind": "crossing_up", "level": 100000}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def download(user, outcome):
    return signed_in(user).get(outcome.result["url"])


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_alerts_as_csv_for_their_owner(user, coins):
    alert_create(user=user, data={"symbol": "BTC", "condition": CROSSING, "note": "breakout"})
    outcome = run(user, "export_results", what="alerts")
    export = Export.objects.get()
    assert outcome.result["url"] == f"/assistant/exports/{export.token}"
    assert outcome.result["rows"] == 1 and outcome.result["format"] == "csv"
    assert outcome.links == [{"label": export.filename, "url": outcome.result["url"]}]
    assert timedelta(hours=23) < export.expires_at - timezone.now() <= timedelta(hours=24)
    response = download(user, outcome)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{export.filename}"'
    header, row = csv_rows(response)
    assert header[:3] == ["symbol", "watchlist", "condition"]
    assert row[0] == "BTC" and json.loads(row[2]) == CROSSING and row[header.index("note")] == "breakout"


def test_a_watchlist_by_name_as_json(user, coins):
    swing = watchlist_create(user=user, name="Swing")
    watchlist_item_add(watchlist=swing, symbol="SOL", note='=HYPERLINK("http://evil")')
    outcome = run(user, "export_results", what="watchlist", watchlist="swing", format="json")
    response = download(user, outcome)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    (item,) = response.json()
    assert item["symbol"] == "SOL" and item["price"] == 140.0 and item["added_at"].endswith("Z")


def test_the_portfolio_as_csv(user, coins):
    transaction_create(user=user, data={"side": "buy", "symbol": "ETH", "quantity": "2", "price": "3500"})
    header, row = csv_rows(download(user, run(user, "export_results", what="portfolio")))
    assert row[header.index("symbol")] == "ETH"
    assert row[header.index("unrealized_pnl")] == "-1000"  # a plain negative number stays a number


def test_result_rows_with_formulas_are_neutralised_in_csv(user, coins):
    rows = [
        {"symbol": "BTC", "note": "=1+2", "change": -4.0},
        {"symbol": "@SUM(A1)", "note": "+cmd|' /C calc'!A0", "change": "-2+3"},
        {"symbol": "-", "note": "\tx", "extra": {"nested": "=evil"}},
    ]
    outcome = run(user, "export_results", what="results", rows=rows)
    header, *cells = csv_rows(download(user, outcome))
    assert header == ["symbol", "note", "change", "extra"]
    assert cells == [
        ["BTC", "'=1+2", "-4.0", ""],
        ["'@SUM(A1)", "'+cmd|' /C calc'!A0", "'-2+3", ""],
        ["'-", "'\tx", "", '{"nested": "=evil"}'],
    ]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=A1", "'=A1"),
        ("+1", "'+1"),
        ("-1", "-1"),
        ("-1.5e3", "-1.5e3"),
        ("@x", "'@x"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        (-4.0, "-4.0"),
        (None, ""),
        (True, "true"),
    ],
)
def test_csv_cells(value, cell):
    assert csv_cell(value) == cell


def test_another_user_gets_404_and_the_signed_out_a_login(user, other, coins):
    outcome = run(user, "export_results", what="alerts", format="json")
    assert download(other, outcome).status_code == 404
    assert Client().get(outcome.result["url"]).status_code == 302
    assert signed_in(user).get("/assistant/exports/00000000-0000-4000-8000-000000000000").status_code == 404


def test_an_expired_export_is_gone(user, coins):
    outcome = run(user, "export_results", what="alerts")
    Export.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert download(user, outcome).status_code == 410


def test_expired_exports_are_deleted_when_the_user_exports_again(user, other, coins):
    run(user, "export_results", what="alerts")
    run(other, "export_results", what="alerts")
    Export.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    run(user, "export_results", what="alerts")
    assert sorted(Export.objects.values_list("user__email", flat=True)) == [other.email, user.email]


def test_only_the_users_own_data_is_exported(user, other, coins):
    alert_create(user=other, data={"symbol": "ETH", "condition": CROSSING})
    watchlist_item_add(watchlist=watchlist_default_get(user=other), symbol="PEPE")
    transaction_create(user=other, data={"side": "buy", "symbol": "BTC", "quantity": "1", "price": "1"})
    for what in ("alerts", "watchlist", "portfolio"):
        assert run(user, "export_results", what=what, format="json").result["rows"] == 0
        assert download(user, run(user, "export_results", what=what, format="json")).json() == []


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"what": "alerts", "rows": [{"a": 1}]}, "rows"),
        ({"what": "results"}, "rows"),
        ({"what": "results", "rows": "BTC,ETH"}, "rows"),
        ({"what": "results", "rows": [1, 2]}, "rows[0]"),
        ({"what": "results", "rows": [{"a": "x\x00y"}]}, "rows[0].a"),
        ({"what": "results", "rows": [{"a": {"b": ["\x00"]}}]}, "rows[0].a.b[0]"),
        ({"what": "results", "rows": [{"a": 1}] * 1001}, "rows"),
        ({"what": "results", "rows": [{f"c{i}": i for i in range(101)}]}, "rows"),
        ({"what": "results", "rows": [{"a": "x" * 3000}] * 1000}, "rows"),
        ({"what": "alerts", "watchlist": "Swing"}, "watchlist"),
        ({"what": "watchlist", "watchlist": "Nope"}, "watchlist"),
        ({"what": "everything"}, "what"),
        ({"what": "alerts", "format": "xlsx"}, "format"),
        ({"format": "csv"}, "what"),
    ],
)
def test_bad_arguments_name_the_argument(user, coins, arguments, named):
    with pytest.raises(ToolError) as refused:
        run(user, "export_results", **arguments)
    assert refused.value.message.startswith(f"{named}:")
    assert not Export.objects.exists()
