"""Writes of the portfolio: transactions as the API takes them, checked field by field (each error names
the field and what is allowed), then created, edited, deleted or imported from CSV; and the costing
method. A write that would leave any sell or transfer out of a coin taking more than was held at its
time is refused (the coin's transactions are replayed after the write, inside its database transaction).

Pages and the API both call these.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction as db_transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from markets.models import Coin
from markets.selectors import coin_get
from scalpaiboard.api import ApplicationError
from watchlists.models import Portfolio, Transaction
from watchlists.portfolio import METHODS, Move, Oversold, decimal_text, oversold_find
from watchlists.portfolio_selectors import CSV_HEADER, positions_changed

FIELDS = ("side", "symbol", "quantity", "price", "fee", "time", "note")
READ_ONLY = ("id",)
SIDES = tuple(Transaction.Side.values)
PLACES, INTEGER_DIGITS = 18, 20  # the columns: numeric(38, 18)
MAX_NOTE = 500
MAX_IMPORT_ROWS = 10_000
EARLIEST = datetime(2009, 1, 3, tzinfo=UTC)  # Bitcoin's first block: nothing was traded before
FUTURE_SLACK = timedelta(minutes=5)  # clocks differ a little


class TransactionInvalid(ApplicationError):
    """A refused transaction: ``errors`` maps each field to what is wrong and allowed."""

    def __init__(self, errors: dict[str, list[str]], message: str | None = None, extra: dict | None = None):
        self.errors = errors
        message = message or f"Not a valid transaction: see {', '.join(errors)}."
        super().__init__(message, extra={**errors, **(extra or {})})


class ImportInvalid(ApplicationError):
    """A refused import: every bad row, by line number (the header is line 1) and field."""

    def __init__(self, rows: list[dict]):
        super().__init__(f"Nothing was imported: {len(rows)} problem(s), listed in rows.", extra={"rows": rows})


# --- One transaction's fields ---------------------------------------------------------------------------


def _number(value, *, allow_zero: bool) -> Decimal:
    """A JSON number or decimal string as an exact Decimal that fits the columns; ValueError says why not."""
    if isinstance(value, bool) or not isinstance(value, int | float | str) or len(str(value)) > 100:
        raise ValueError('Must be a number or a decimal string, such as 0.5 or "0.5".')
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise ValueError("Must be a decimal number, such as 0.5.") from None
    if not number.is_finite():
        raise ValueError("Must be a finite number (not NaN or Infinity).")
    if number < 0 or (number == 0 and not allow_zero):
        raise ValueError("Must be greater than 0." if not allow_zero else "Must be 0 or more.")
    number = number.normalize()
    if number and number.as_tuple().exponent < -PLACES:
        raise ValueError(f"At most {PLACES} decimal places.")
    if number and number.adjusted() >= INTEGER_DIGITS:
        raise ValueError(f"Must be less than 10^{INTEGER_DIGITS}.")
    return number


def _time(value) -> datetime:
    """An ISO 8601 moment (naive means UTC; a date alone is its midnight UTC), not in the future."""
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("Must be an ISO 8601 date and time, such as 2025-01-31T14:30:00Z.")
    try:
        moment = parse_datetime(value.strip())
        if moment is None and (day := parse_date(value.strip())) is not None:
            moment = datetime.combine(day, time(0))
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError("Must be an ISO 8601 date and time, such as 2025-01-31T14:30:00Z.")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= timezone.now() + FUTURE_SLACK:
        raise ValueError("Must be between 2009-01-03 and now.")
    return moment


def _coin(value) -> Coin:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Required: a coin's symbol, such as BTC.")
    try:
        return coin_get(symbol=value.strip()[:40])
    except Coin.DoesNotExist:
        raise ValueError(f"Unknown coin symbol '{value.strip().upper()[:40]}'. GET /api/coins lists them.") from None


def _side(value) -> str:
    if value not in SIDES:
        raise ValueError(f"Must be one of: {', '.join(SIDES)}.")
    return value


def _note(value) -> str:
    if not isinstance(value, str) or len(value) > MAX_NOTE or "\x00" in value:
        raise ValueError(f"Must be text of at most {MAX_NOTE} characters, without NUL.")
    return value


READERS = {
    "side": _side,
    "symbol": _coin,
    "quantity": lambda v: _number(v, allow_zero=False),
    "price": lambda v: _number(v, allow_zero=True),
    "fee": lambda v: _number(v, allow_zero=True),
    "time": _time,
    "note": _note,
}


def transaction_clean(*, data, current: Transaction | None = None) -> dict:
    """The model's values for ``data`` (the whole body; or, with ``current``, the fields that change);
    raises TransactionInvalid naming every bad field."""
    if not isinstance(data, dict):
        raise TransactionInvalid({"non_field_errors": ["The body must be a JSON object of the transaction's fields."]})
    errors = {
        name: [f"Unknown field; allowed: {', '.join(FIELDS)}."] for name in data if name not in FIELDS + READ_ONLY
    }
    values = {}
    for name in FIELDS:
        if name in data and data[name] is not None:
            try:
                values[name] = READERS[name](data[name])
            except ValueError as error:
                errors[name] = [str(error)]
    errors.update(_missing(data, values, current, errors))
    if errors:
        raise TransactionInvalid(errors)
    return _model_values(values, creating=current is None)


def _missing(data: dict, values: dict, current: Transaction | None, errors: dict) -> dict:
    """Required fields left out: side, symbol and quantity always; price for a buy or sell."""
    missing = {}
    for name in ("side", "symbol", "quantity"):
        if (current is None and name not in data) or (name in data and data[name] is None):
            missing[name] = ["Required."]
    side = values.get("side") or (current.side if current else None)
    price_given = "price" in values or (current is not None and "price" not in data)
    if side in ("buy", "sell") and not price_given and "price" not in errors:
        missing["price"] = ["Required for a buy or a sell: USDT per coin."]
    return missing


def _model_values(values: dict, *, creating: bool) -> dict:
    if "symbol" in values:
        values["coin"] = values.pop("symbol")
    if creating:
        values.setdefault("time", timezone.now())
    return values


# --- Writes --------------------------------------------------------------------------------------------


def transaction_create(*, user: AbstractBaseUser, data) -> Transaction:
    """A new transaction of ``user`` from the API's body; 400 when a field is bad or it oversells."""
    values = transaction_clean(data=data)
    with db_transaction.atomic():
        _portfolio_lock(user)
        created = Transaction.objects.create(user=user, **values)
        _holdings_check(user=user, coin_ids={created.coin_id}, written=created.pk)
    return created


def transaction_update(*, transaction: Transaction, data) -> Transaction:
    """Change the fields of ``data``; 400 when one is bad, or when this or a later sell would then
    take more than was held."""
    values = transaction_clean(data=data, current=transaction)
    coin_ids = {transaction.coin_id}
    with db_transaction.atomic():
        _portfolio_lock(transaction.user)
        for name, value in values.items():
            setattr(transaction, name, value)
        transaction.save()
        _holdings_check(user=transaction.user, coin_ids=coin_ids | {transaction.coin_id}, written=transaction.pk)
    return transaction


def transaction_delete(*, transaction: Transaction) -> None:
    """Delete it; 400 when a later sell would then take more than was held."""
    with db_transaction.atomic():
        _portfolio_lock(transaction.user)
        coin_id, user = transaction.coin_id, transaction.user
        transaction.delete()
        _holdings_check(user=user, coin_ids={coin_id}, written=None)


def _portfolio_lock(user: AbstractBaseUser) -> Portfolio:
    """The user's portfolio row, locked until the transaction ends: one user's writes check holdings
    one after the other, so two sells cannot each see coins the other takes. The user's cached
    positions are dropped now (for reads in this transaction) and again once it commits (for a read
    elsewhere in between, which saw the old transactions)."""
    positions_changed(user_id=user.pk)
    db_transaction.on_commit(partial(positions_changed, user_id=user.pk))
    Portfolio.objects.get_or_create(user=user)
    return Portfolio.objects.select_for_update().get(user=user)


def _holdings_check(*, user: AbstractBaseUser, coin_ids: set[int], written: int | None) -> None:
    """Raise TransactionInvalid (the caller's atomic block rolls back) when a move of these coins
    takes more than was held at its time."""
    for coin_id in coin_ids:
        oversold = oversold_find(_moves(user=user, coin_id=coin_id))
        if oversold is not None:
            raise _oversold_error(oversold, written=written)


def _moves(*, user: AbstractBaseUser, coin_id: int) -> Iterable[Move]:
    rows = Transaction.objects.filter(user=user, coin_id=coin_id).order_by("time", "id")
    for pk, side, quantity, when, symbol in rows.values_list("pk", "side", "quantity", "time", "coin__symbol"):
        yield Move(side, quantity, key=(pk, when, symbol))


def _oversold_error(oversold: Oversold, *, written: int | None) -> TransactionInvalid:
    pk, move = oversold.move.key[0], oversold.move
    said = _oversold_said(oversold)
    if pk == written:
        return TransactionInvalid({"quantity": [f"More than was held at that time: this takes {said}."]})
    conflict = {
        "id": pk,
        "side": move.side,
        "quantity": decimal_text(move.quantity),
        "held": decimal_text(oversold.held),
    }
    message = f"Refused: transaction {pk} ({move.side}) would then take {said}."
    return TransactionInvalid({}, message=message, extra={"conflict": conflict})


def _oversold_said(oversold: Oversold) -> str:
    _, when, symbol = oversold.move.key
    quantity, held = decimal_text(oversold.move.quantity), decimal_text(oversold.held)
    return f"{quantity} {symbol} on {when.isoformat()}, when {held} {symbol} were held"


def portfolio_method_set(*, user: AbstractBaseUser, method) -> Portfolio:
    """Set how positions are costed: "average" or "fifo"."""
    if method not in METHODS:
        raise TransactionInvalid({"method": [f"Must be one of: {', '.join(METHODS)}."]}, message="Not a valid method.")
    portfolio, _ = Portfolio.objects.update_or_create(user=user, defaults={"method": method})
    return portfolio


# --- CSV import ------------------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    values: dict


def transactions_import(*, user: AbstractBaseUser, text: str) -> list[Transaction]:
    """Create a transaction per row of ``text`` (CSV with the header CSV_HEADER), all or none: any bad
    row refuses the whole import, listing every bad row by line and field."""
    rows, problems = _csv_rows(text)
    if problems:
        raise ImportInvalid(problems)
    with db_transaction.atomic():
        _portfolio_lock(user)
        created = Transaction.objects.bulk_create(
            [Transaction(user=user, **row.values) for row in rows], batch_size=1000
        )
        problems = _import_oversold(user=user, rows=rows, created=created)
        if problems:
            raise ImportInvalid(problems)
    return created


def _csv_rows(text: str) -> tuple[list[_Row], list[dict]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _csv_read(reader)
    except csv.Error as error:
        return [], [_problem(reader.line_num or 1, "file", f"Not readable as CSV: {error}.")]


def _csv_read(reader) -> tuple[list[_Row], list[dict]]:
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != CSV_HEADER:
        return [], [_problem(1, "header", f"The first line must be: {','.join(CSV_HEADER)}")]
    rows, problems = [], []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row, row_problems = _csv_row(reader.line_num, cells)
        rows.append(row)
        problems.extend(row_problems)
        if len(rows) > MAX_IMPORT_ROWS:
            return [], [_problem(reader.line_num, "file", f"At most {MAX_IMPORT_ROWS} transactions per import.")]
    if not rows and not problems:
        problems.append(_problem(2, "file", "No transaction below the header."))
    return rows, problems


def _csv_row(line: int, cells: list[str]) -> tuple[_Row, list[dict]]:
    if len(cells) != len(CSV_HEADER):
        return _Row(line, {}), [_problem(line, "row", f"Has {len(cells)} fields; {len(CSV_HEADER)} are expected.")]
    data = {name: cell for name, cell in zip(CSV_HEADER, cells, strict=True) if cell.strip() or name == "note"}
    try:
        return _Row(line, transaction_clean(data=data)), []
    except TransactionInvalid as invalid:
        return _Row(line, {}), [_problem(line, f, " ".join(m)) for f, m in invalid.errors.items()]


def _problem(line: int | None, field: str, message: str) -> dict:
    return {"line": line, "field": field, "message": message}


def _import_oversold(*, user: AbstractBaseUser, rows: list[_Row], created: list[Transaction]) -> list[dict]:
    """The rows (or existing transactions) that take more than was held then, once the rows are in."""
    lines = {t.pk: row.line for t, row in zip(created, rows, strict=True) if t.pk is not None}
    problems = []
    for coin_id in {t.coin_id for t in created}:
        oversold = oversold_find(_moves(user=user, coin_id=coin_id))
        if oversold is not None:
            pk, said = oversold.move.key[0], _oversold_said(oversold)
            if pk in lines:
                problems.append(_problem(lines[pk], "quantity", f"More than was held at that time: takes {said}."))
            else:
                problems.append(_problem(None, "quantity", f"Your transaction {pk} would then take {said}."))
    return sorted(problems, key=lambda p: (p["line"] is None, p["line"] or 0))
