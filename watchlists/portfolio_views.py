"""The portfolio page: holdings at live prices with totals, the allocation donut, the value history chart,
the transaction form and list, the costing method, CSV import and export. Every form posts with HTMX
and gets back the page's body (``#portfolio-body``), errors shown by their fields; without JavaScript
the same posts redirect back to the page. The work is the services' and selectors'."""

# The tooltips write the multiplication and minus signs as people do:
# ruff: noqa: RUF001

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from markets.templatetags.market_format import change as change_text
from markets.templatetags.market_format import price as price_text
from markets.templatetags.market_format import sign_class
from watchlists.api.portfolio_views import MAX_CSV_BYTES
from watchlists.models import Transaction
from watchlists.portfolio import METHODS
from watchlists.portfolio_selectors import (
    portfolio_summary,
    transaction_as_json,
    transaction_get,
    transactions_list,
)
from watchlists.portfolio_services import (
    CSV_HEADER,
    FIELDS,
    ImportInvalid,
    TransactionInvalid,
    portfolio_method_set,
    transaction_create,
    transaction_delete,
    transactions_import,
)

# What each column is, in words (the page's tooltips): figures anyone can reproduce.
TIPS = {
    "quantity": "Coins held: everything bought and transferred in, less everything sold and transferred out.",
    "price": "The live price in USDT, updated every second from the market feed (as on the Markets page).",
    "value": "Quantity held × live price.",
    "unrealized_pnl": "Value − cost basis: what you would gain or lose selling everything at the live price, "
    "before fees.",
    "pnl_percent": "(Realized + unrealized P&L) ÷ everything ever invested in the coin (quantity × price + fee of "
    "every buy and transfer in) × 100.",
    "change_24h_value": "Quantity held × (live price − the price 24 hours ago): what your holding gained or lost "
    "over the last 24 hours.",
    "allocation_percent": "This coin's value ÷ the value of all your holdings × 100.",
}
METHOD_TIPS = {
    "average": {
        "average_buy_price": "Average cost: cost basis ÷ quantity held. Every buy raises the cost by quantity × price "
        "+ fee; a sale takes quantity × this average off the cost, so it does not change the average.",
        "cost_basis": "Average cost: what the coins held cost, fees included: buys and transfers in add quantity × "
        "price + fee; sells and transfers out take off quantity sold × average buy price.",
        "realized_pnl": "Average cost: for each sale, quantity × (sale price − average buy price) − fee; a transfer "
        "out realizes only its fee (a loss).",
    },
    "fifo": {
        "average_buy_price": "FIFO: cost basis ÷ quantity held, the cost being that of the lots still held.",
        "cost_basis": "FIFO (first in, first out): each buy or transfer in is a lot costing quantity × price + fee; "
        "sales take from the oldest lots first, so what is held is costed at the newest lots' prices.",
        "realized_pnl": "FIFO: for each sale, quantity × sale price − fee − the cost of the oldest lots it takes "
        "(part of a lot costs its share of the lot's cost); a transfer out realizes only its fee (a loss).",
    },
}
PER_PAGE = 25
DONUT_SLICES = 8  # the largest holdings; the rest are one "other" slice
COLOURS = ["#3861fb", "#16c784", "#f0b90b", "#ea3943", "#8e44ad", "#00b8d9", "#ff7a45", "#7f8c8d", "#5a6478"]


@login_required
@require_GET
def portfolio_page(request: HttpRequest) -> HttpResponse:
    """The whole page; an HTMX request for the transaction list (its pages) gets only the list."""
    context = _context(request)
    if request.htmx and request.htmx.target == "transaction-list":
        return render(request, "watchlists/_portfolio_transactions.html", context)
    return render(request, "watchlists/portfolio.html", context)


@login_required
@require_POST
def transaction_add(request: HttpRequest) -> HttpResponse:
    """Record the form's transaction; its errors are shown by their fields (400 without HTMX)."""
    data = {name: request.POST.get(name, "") for name in FIELDS if request.POST.get(name, "").strip() or name == "note"}
    if "time" in data:
        data["time"] = _with_offset(data["time"], request.POST.get("tz_offset", ""))
    try:
        created = transaction_create(user=request.user, data=data)
    except TransactionInvalid as invalid:
        return _answer(request, status=400, form=request.POST, errors=_field_errors(invalid))
    said = f"{created.side.replace('_', ' ')} {created.quantity.normalize():f} {created.coin.symbol}"
    messages.success(request, f"Recorded: {said}.")
    return _answer(request)


@login_required
@require_POST
def transaction_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete one of the user's transactions (404 for anyone else's)."""
    try:
        transaction_delete(transaction=transaction_get(user=request.user, id=pk))
    except TransactionInvalid as invalid:
        messages.error(request, invalid.message)
        return _answer(request, status=400)
    messages.success(request, "Transaction deleted.")
    return _answer(request)


@login_required
@require_POST
def method_set(request: HttpRequest) -> HttpResponse:
    """Switch between average cost and FIFO."""
    try:
        portfolio_method_set(user=request.user, method=request.POST.get("method"))
    except TransactionInvalid as invalid:
        messages.error(request, invalid.errors["method"][0])
        return _answer(request, status=400)
    return _answer(request)


@login_required
@require_POST
def transactions_upload(request: HttpRequest) -> HttpResponse:
    """Import the uploaded CSV, all or nothing; every refused row is listed by line and field."""
    upload = request.FILES.get("file")
    text, problem = _upload_text(upload)
    if problem:
        return _answer(request, status=400, import_rows=[{"line": None, "field": "file", "message": problem}])
    try:
        created = transactions_import(user=request.user, text=text)
    except ImportInvalid as invalid:
        return _answer(request, status=400, import_rows=invalid.extra["rows"])
    messages.success(request, f"Imported {len(created)} transaction{'s' if len(created) != 1 else ''}.")
    return _answer(request)


def _upload_text(upload) -> tuple[str, str | None]:
    if upload is None:
        return "", "Choose a CSV file to import."
    if upload.size > MAX_CSV_BYTES:
        return "", f"The file is larger than {MAX_CSV_BYTES // 1024 // 1024} MB: import it in parts."
    try:
        return upload.read().decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return "", "The file is not UTF-8 text."


def _answer(request: HttpRequest, *, status: int = 200, **extra) -> HttpResponse:
    """After a post: the page's body for HTMX (swapped even when refused, so errors show), else the page."""
    if request.htmx:
        return render(request, "watchlists/_portfolio_body.html", _context(request, **extra))
    if status != 200:
        return render(request, "watchlists/portfolio.html", _context(request, **extra), status=status)
    return redirect("portfolio")


def _field_errors(invalid: TransactionInvalid) -> dict[str, str]:
    errors = {name: " ".join(messages) for name, messages in invalid.errors.items()}
    if not errors:
        errors["non_field_errors"] = invalid.message
    return errors


def _with_offset(value: str, offset: str) -> str:
    """A datetime-local input's value is the browser's wall clock: the page's script sends its offset
    (``tz_offset``, JavaScript's getTimezoneOffset: minutes behind UTC). Without one it is UTC."""
    value = value.strip()
    if not offset.lstrip("-").isdigit() or abs(int(offset)) > 18 * 60 or len(value) != 16:
        return value  # no offset, or not a datetime-local value (already has its own offset)
    minutes = -int(offset)
    sign = "+" if minutes >= 0 else "-"
    return f"{value}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# --- what the page shows ----------------------------------------------------------------------------------


def _context(request: HttpRequest, *, form=None, errors=None, import_rows=None) -> dict:
    method = request.GET.get("method") if request.GET.get("method") in METHODS else None
    summary = portfolio_summary(user=request.user, method=method, for_page=True)
    page = Paginator(transactions_list(user=request.user), PER_PAGE).get_page(request.GET.get("page"))
    return {
        "summary": summary,
        "positions": [_row(p) for p in summary["positions"]],
        "totals": {**summary["totals"], "signs": signs(summary["totals"])},
        "tips": TIPS | METHOD_TIPS[summary["method"]],
        "method": summary["method"],
        "methods": METHODS,
        "donut": donut(summary["positions"]),
        "page": page,
        "transactions": [_listed(t) for t in page.object_list],
        "form": form or {"side": "buy", "time": ""},
        "errors": errors or {},
        "import_rows": import_rows,
        "sides": Transaction.Side.choices,
        "csv_header": ",".join(CSV_HEADER),
        "now": timezone.now(),
    }


def _row(position: dict) -> dict:
    """A holding as the table shows it: its figures, their signs' classes, the coin's 24h change as the
    live feed writes it."""
    change, average = position["change_24h"], position["average_buy_price"]
    return {
        **position,
        "signs": signs(position),
        "change_class": sign_class(change),
        "change_24h_text": change_text(change),
        "average_text": price_text(float(average)) if average is not None else "—",
        "price_text": price_text(float(position["price"])),
    }


def _listed(transaction: Transaction) -> dict:
    """A transaction as the list shows it: exact quantity and fee, the price as prices are shown."""
    shown = transaction_as_json(transaction)
    price = price_text(float(transaction.price)) if transaction.price else "0"
    return {**shown, "object": transaction, "price_text": price}


def signs(figures: dict) -> dict[str, str]:
    """The CSS class of each P&L figure: "pos" above 0, "neg" below, "" at 0 or none."""
    names = ("unrealized_pnl", "realized_pnl", "pnl_percent", "change_24h_value")
    return {name: _sign(figures.get(name)) for name in names}


def _sign(value: str | None) -> str:
    if value in (None, "0"):
        return ""
    return "neg" if value.startswith("-") else "pos"


def donut(positions: list[dict]) -> list[dict]:
    """The allocation donut's slices: the largest holdings by value, the rest as "Other". Each slice's
    dash (its share of a circle whose circumference is 100) and offset, for an SVG circle's stroke."""
    held = [p for p in positions if p["allocation_percent"] not in (None, "0")]
    slices = [(p["symbol"], float(p["allocation_percent"])) for p in held[:DONUT_SLICES]]
    rest = sum(float(p["allocation_percent"]) for p in held[DONUT_SLICES:])
    if rest > 0:
        slices.append(("Other", rest))
    drawn, start = [], 0.0
    for index, (label, share) in enumerate(slices):
        colour = COLOURS[index % len(COLOURS)]
        drawn.append({"label": label, "share": share, "dash": share, "offset": 25 - start, "colour": colour})
        start += share
    return drawn if not math.isclose(start, 0) else []
