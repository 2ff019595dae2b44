"""The portfolio page: sign-in required, holdings with totals, tooltips and the donut, the empty state,
the transaction form (errors by field; HTMX answers the page's body), deletion, the method switch,
CSV import (refused rows listed) and another user's transaction a 404."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from markets.models import Coin
from watchlists.models import Portfolio, Transaction
from watchlists.portfolio_services import transaction_create

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "portfolio-body"}


@pytest.fixture
def trader(django_user_model, coins):
    return django_user_model.objects.create_user("trader", password="a long pass phrase", email="t@example.com")


@pytest.fixture
def signed_in(client, trader):
    client.force_login(trader)
    return client


def record(user, **fields) -> Transaction:
    body = {"side": "buy", "symbol": "BTC", "quantity": "1", "price": "100", "time": "2025-01-01T00:00:00Z"}
    return transaction_create(user=user, data={**body, **fields})


def text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def test_the_page_needs_a_sign_in(client, coins):
    response = client.get("/portfolio")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login")


def test_an_empty_portfolio_says_how_to_start(signed_in):
    page = text(signed_in.get("/portfolio"))
    assert "No holdings yet." in page and "No transactions yet." in page
    assert 'id="history-chart"' in page


def test_holdings_show_live_values_totals_tooltips_and_the_donut(signed_in, trader):
    # 2 BTC bought at 100 with a 2 USDT fee (cost 202), worth 2 * 150 = 300: unrealized +98.
    record(trader, quantity="2", price="100", fee="2")
    record(trader, symbol="ETH", quantity="1", price="50")
    Coin.objects.filter(symbol="BTC").update(price=150.0)
    Coin.objects.filter(symbol="ETH").update(price=100.0)
    page = text(signed_in.get("/portfolio"))
    row = re.search(r'<tr data-symbol="BTC".*?</tr>', page).group(0)
    assert 'data-quantity="2" data-cost="202" data-realized="0" data-invested="202"' in row
    assert 'id="p-BTC"' in row  # the live feed's price cell: subscribed, swapped out of band
    assert ">300.00<" in row and 'class="num pos" data-field="unrealized_pnl">98.00<' in row
    assert 'data-total="value">400.00<' in page  # 300 + 100
    assert "Average cost: cost basis ÷ quantity held." in page  # the average buy price's tooltip
    assert page.count('class="tip') >= 11
    assert '<desc id="donut-desc">BTC 75.0 %, ETH 25.0 %</desc>' in page


def test_fifo_changes_the_tooltips_and_the_figures(signed_in, trader):
    record(trader, quantity="2", price="100")
    record(trader, quantity="2", price="200", time="2025-01-02T00:00:00Z")
    record(trader, side="sell", quantity="2", price="300", time="2025-01-03T00:00:00Z")
    # Average: cost 600 - 2*150 = 300; FIFO: the first lot (200) goes, 400 left.
    assert 'data-cost="300"' in text(signed_in.get("/portfolio"))
    page = text(signed_in.post("/portfolio/method", {"method": "fifo"}, **HTMX))
    assert 'data-cost="400"' in page and "FIFO (first in, first out)" in page
    assert Portfolio.objects.get(user=trader).method == "fifo"


def test_the_form_records_a_transaction_and_answers_the_body(signed_in, trader):
    sent = {"side": "buy", "symbol": "sol", "quantity": "3", "price": "140", "fee": "", "time": "", "note": "dip"}
    response = signed_in.post("/portfolio/transactions", sent, **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert "Recorded: buy 3 SOL." in page and '<tr data-symbol="SOL"' in page
    assert "<html" not in page  # the body only
    assert Transaction.objects.get().note == "dip"


def test_the_forms_time_is_read_in_the_browsers_time_zone(signed_in, trader):
    # 12:00 on the wall clock of UTC+2 (getTimezoneOffset -120) is 10:00 UTC.
    sent = {
        "side": "buy",
        "symbol": "BTC",
        "quantity": "1",
        "price": "1",
        "time": "2025-01-01T12:00",
        "tz_offset": "-120",
    }
    signed_in.post("/portfolio/transactions", sent, **HTMX)
    assert Transaction.objects.get().time.isoformat() == "2025-01-01T10:00:00+00:00"


def test_form_errors_are_shown_by_their_fields(signed_in):
    sent = {"side": "buy", "symbol": "NOPE", "quantity": "-1", "price": "abc"}
    page = text(signed_in.post("/portfolio/transactions", sent, **HTMX))
    assert re.search(r'field invalid"><span>Coin</span>.*?Unknown coin symbol \'NOPE\'', page)
    assert re.search(r'field invalid"><span>Quantity</span>.*?Must be greater than 0', page)
    assert re.search(r'field invalid"><span>Price \(USDT per coin\)</span>.*?Must be a decimal number', page)
    assert 'value="NOPE"' in page  # what was typed stays
    assert not Transaction.objects.exists()


def test_without_htmx_a_refused_form_is_a_400_page(signed_in):
    response = signed_in.post(
        "/portfolio/transactions", {"side": "sell", "symbol": "BTC", "quantity": "1", "price": "1"}
    )
    assert response.status_code == 400
    assert "More than was held at that time" in text(response)


def test_deleting_a_transaction_and_a_refused_deletion(signed_in, trader):
    buy = record(trader, quantity="2")
    sell = record(trader, side="sell", quantity="1", time="2025-01-02T00:00:00Z")
    page = text(signed_in.post(f"/portfolio/transactions/{buy.pk}/delete", **HTMX))
    assert "would then take 1 BTC" in page
    assert Transaction.objects.count() == 2
    assert "Transaction deleted." in text(signed_in.post(f"/portfolio/transactions/{sell.pk}/delete", **HTMX))
    assert list(Transaction.objects.all()) == [buy]


def test_another_users_transaction_cannot_be_deleted(signed_in, django_user_model):
    someone = django_user_model.objects.create_user("someone", password="x long pass phrase", email="s@example.com")
    theirs = record(someone)
    assert signed_in.post(f"/portfolio/transactions/{theirs.pk}/delete", **HTMX).status_code == 404
    assert Transaction.objects.filter(pk=theirs.pk).exists()
    assert 'data-symbol="BTC"' not in text(signed_in.get("/portfolio"))


def test_an_import_lists_refused_rows_and_imports_nothing(signed_in):
    csv = "time,side,symbol,quantity,price,fee,note\n2025-01-01,buy,BTC,1,100,0,\n2025-01-02,buy,BTC,x,100,0,\n"
    upload = SimpleUploadedFile("t.csv", csv.encode())
    page = text(signed_in.post("/portfolio/import", {"file": upload}, **HTMX))
    assert "Nothing was imported: 1 problem." in page
    assert re.search(r'<td class="num">3</td><td>quantity</td><td>Must be a decimal number', page)
    assert not Transaction.objects.exists()
    good = SimpleUploadedFile("t.csv", csv.rsplit("\n", 2)[0].encode() + b"\n")
    assert "Imported 1 transaction." in text(signed_in.post("/portfolio/import", {"file": good}, **HTMX))


def test_the_transaction_list_pages_through_htmx(signed_in, trader):
    for day in range(1, 28):
        record(trader, time=f"2025-01-{day:02d}T00:00:00Z")
    response = signed_in.get("/portfolio", {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="transaction-list")
    page = text(response)
    assert "<html" not in page and "Page 2 of 2" in page and page.count('<tr id="transaction-') == 2


def test_the_admin_lists_transactions(client, django_user_model, trader):
    staff = django_user_model.objects.create_superuser("boss", password="a long pass phrase", email="b@example.com")
    record(trader, note="in the admin")
    client.force_login(staff)
    page = text(client.get("/admin/watchlists/transaction/", {"q": "BTC"}))
    assert "1 transaction" in page and "trader" in page
    assert client.get("/admin/watchlists/portfolio/").status_code == 200
