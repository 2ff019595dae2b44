"""Reads of the portfolio: transactions, positions with live prices and totals, the daily value history,
and the CSV export. Live prices are the coins' own figures, as GET /api/coins answers them (the feed
writes each coin's price and 24h change every second). Each read is a fixed number of queries, however
many transactions and coins.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from markets.models import Candle, Coin
from watchlists.models import Portfolio, Transaction
from watchlists.portfolio import (
    AVERAGE,
    EXACT,
    INCOMING,
    ZERO,
    Position,
    decimal_text,
    percent,
    positions_replay,
)

POSITIONS_SECONDS = 86400  # a replay kept a day at most (a new version replaces it sooner)
CSV_HEADER = ("time", "side", "symbol", "quantity", "price", "fee", "note")  # the export's and the import's


def transactions_list(*, user: AbstractBaseUser, symbol: str | None = None) -> QuerySet[Transaction]:
    """The user's transactions, newest first, with their coins; of one coin with ``symbol``."""
    rows = Transaction.objects.filter(user=user).select_related("coin")
    if symbol:
        rows = rows.filter(coin__symbol=symbol.strip().upper())
    return rows


def transaction_get(*, user: AbstractBaseUser, id: int) -> Transaction:
    """One of the user's transactions; 404 for any other (another user's included)."""
    found = transactions_list(user=user).filter(pk=id).first()
    if found is None:
        raise Http404("No transaction of yours has this id.")
    return found


def transaction_as_json(transaction: Transaction) -> dict:
    """A transaction as the API answers it: quantities and money as decimal strings."""
    return {
        "id": transaction.pk,
        "side": transaction.side,
        "symbol": transaction.coin.symbol,
        "quantity": _stored_text(transaction.quantity),
        "price": _stored_text(transaction.price),
        "fee": _stored_text(transaction.fee),
        "time": transaction.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "note": transaction.note,
    }


def _stored_text(value: Decimal) -> str:
    """A stored decimal (18 places at most: nothing to round) as plain text without trailing zeros."""
    return format(value.normalize(EXACT), "f")


def portfolio_method(*, user: AbstractBaseUser) -> str:
    """The user's costing method ("average" until set)."""
    return Portfolio.objects.filter(user=user).values_list("method", flat=True).first() or AVERAGE


# --- Positions ---------------------------------------------------------------------------------------------


def positions_get(*, user: AbstractBaseUser, method: str) -> dict[int, Position]:
    """Each coin's position (by coin id), replayed from the user's transactions in time order: one
    query, or none while the user's transactions are unchanged (the replay is cached per version of
    them, which every write bumps: ``positions_changed``)."""
    key = f"portfolio:positions:{user.pk}:{method}:{_version(user.pk)}"
    positions = cache.get(key)
    if positions is None:
        rows = Transaction.objects.filter(user=user).order_by("time", "id")
        rows = rows.values_list("coin_id", "side", "quantity", "price", "fee")
        positions = positions_replay(rows, method=method, clamp=True)
        cache.set(key, positions, timeout=POSITIONS_SECONDS)
    return positions


def _version(user_id) -> int:
    version = cache.get(_version_key(user_id))
    if version is None:
        version = time.time_ns()
        cache.set(_version_key(user_id), version, timeout=None)
    return version


def _version_key(user_id) -> str:
    return f"portfolio:version:{user_id}"


def positions_changed(*, user_id) -> None:
    """The user's transactions changed: their positions are replayed again at the next read. Called
    by every write (services, admin) once its database transaction commits."""
    cache.set(_version_key(user_id), time.time_ns(), timeout=None)


def portfolio_summary(*, user: AbstractBaseUser, method: str | None = None, for_page: bool = False) -> dict:
    """{"method", "positions", "totals"} with live prices: three queries. Money as decimal strings;
    open positions by value, largest first, then closed ones (realized P&L only). ``for_page`` adds
    what the page recomputes live figures from: each position's ``invested`` and 24h change (%)."""
    method = method or portfolio_method(user=user)
    positions = positions_get(user=user, method=method)
    coins = Coin.objects.filter(pk__in=positions).values_list("pk", "symbol", "price", "change_24h")
    with localcontext(EXACT):
        figures = [_figures(positions[pk], symbol, price, change) for pk, symbol, price, change in coins]
        if for_page:
            for f, (pk, *_, change) in zip(figures, coins, strict=True):
                f.update(invested=positions[pk].invested, change_24h=change)
        total_value = sum((f["value"] for f in figures), ZERO)
        for f in figures:
            f["allocation_percent"] = percent(f["value"], total_value)
        totals = _totals(figures, positions.values())
    figures.sort(key=lambda f: (f["quantity"] == 0, -f["value"], f["symbol"]))
    return {"method": method, "positions": [_shown(f) for f in figures], "totals": _shown(totals)}


def _figures(position: Position, symbol: str, price: float, change_24h: float) -> dict:
    """One position's figures at the live price (exact from here on: the float's shortest decimal)."""
    live = Decimal(repr(price))
    value = position.quantity * live
    unrealized = value - position.cost
    before = live * 100 / (100 + Decimal(repr(change_24h))) if change_24h > -100 else ZERO
    return {
        "symbol": symbol,
        "quantity": position.quantity,
        "average_buy_price": position.average_price,
        "cost_basis": position.cost,
        "price": live,
        "value": value,
        "unrealized_pnl": unrealized,
        "realized_pnl": position.realized,
        "pnl_percent": percent(position.realized + unrealized, position.invested),
        "change_24h_value": position.quantity * (live - before),
    }


def _totals(figures: list[dict], positions) -> dict:
    def total(name: str) -> Decimal:
        return sum((f[name] for f in figures), ZERO)

    invested = sum((p.invested for p in positions), ZERO)
    pnl = total("realized_pnl") + total("unrealized_pnl")
    return {
        "value": total("value"),
        "cost_basis": total("cost_basis"),
        "unrealized_pnl": total("unrealized_pnl"),
        "realized_pnl": total("realized_pnl"),
        "pnl_percent": percent(pnl, invested),
        "change_24h_value": total("change_24h_value"),
    }


def _shown(figures: dict) -> dict:
    """Figures as the API shows them: decimal strings; percentages to 6 places."""
    return {
        name: decimal_text(value, 6 if name.endswith("percent") else 18) if isinstance(value, Decimal) else value
        for name, value in figures.items()
    }


# --- History -------------------------------------------------------------------------------------------------


def portfolio_history(*, user: AbstractBaseUser, days: int) -> list[dict]:
    """The value of the user's holdings at the close of each of the last ``days`` days (UTC), oldest
    first: each coin's quantity held at the day's end * its 1d candle's close (today: the live price; a
    day without a candle: the last close before it). Three queries (two once the transactions' days
    are cached)."""
    today = timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    changes = _quantity_changes(user)
    closes = _daily_closes(coin_ids=list(changes), first=first, today=today)
    held = {coin_id: _held_by_day(steps, first, days) for coin_id, steps in changes.items()}
    history = []
    with localcontext(EXACT):
        for offset in range(days):
            value = sum((held[c][offset] * closes[c][offset] for c in changes if closes[c][offset] is not None), ZERO)
            history.append({"date": (first + timedelta(days=offset)).isoformat(), "value": decimal_text(value, 8)})
    return history


def _quantity_changes(user: AbstractBaseUser) -> dict[int, list[tuple[date, Decimal]]]:
    """Per coin, (UTC day, signed quantity) of every transaction, in time order; cached as the
    positions are, per version of the user's transactions."""
    key = f"portfolio:changes:{user.pk}:{_version(user.pk)}"
    changes = cache.get(key)
    if changes is None:
        changes = defaultdict(list)
        rows = Transaction.objects.filter(user=user).order_by("time", "id")
        for coin_id, side, quantity, when in rows.values_list("coin_id", "side", "quantity", "time"):
            changes[coin_id].append((when.astimezone(UTC).date(), quantity if side in INCOMING else -quantity))
        changes = dict(changes)
        cache.set(key, changes, timeout=POSITIONS_SECONDS)
    return changes


def _held_by_day(steps: list[tuple[date, Decimal]], first: date, days: int) -> list[Decimal]:
    held, index, by_day = ZERO, 0, []
    with localcontext(EXACT):
        for offset in range(days):
            day = first + timedelta(days=offset)
            while index < len(steps) and steps[index][0] <= day:
                held += steps[index][1]
                index += 1
            by_day.append(held)
    return by_day


def _daily_closes(*, coin_ids: list[int], first: date, today: date) -> dict[int, list[Decimal | None]]:
    """Per coin, the close of each day from ``first`` to ``today``: the stored 1d bars' (the last one
    before ``first`` starts the carry), today's the live price."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    bars = Candle.objects.filter(coin_id__in=coin_ids, timeframe="1d", open_time__gte=start - timedelta(days=30))
    by_coin: dict[int, dict[date, float]] = defaultdict(dict)
    for coin_id, opened, close in bars.values_list("coin_id", "open_time", "close"):
        by_coin[coin_id][opened.astimezone(UTC).date()] = close
    live = dict(Coin.objects.filter(pk__in=coin_ids).values_list("pk", "price"))
    days = (today - first).days + 1
    return {c: _carried(by_coin[c], live.get(c), first, days) for c in coin_ids}


def _carried(closes: dict[date, float], live: float | None, first: date, days: int) -> list[Decimal | None]:
    before = [day for day in closes if day < first]
    last = closes[max(before)] if before else None
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        last = live if offset == days - 1 and live is not None else closes.get(day, last)
        series.append(None if last is None else Decimal(repr(last)))
    return series


# --- CSV export -------------------------------------------------------------------------------------------------


def transactions_csv(*, user: AbstractBaseUser) -> str:
    """Every transaction of the user, oldest first, as CSV under the header CSV_HEADER (what the import
    takes back): ISO 8601 UTC times, exact decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    rows = Transaction.objects.filter(user=user).order_by("time", "id")
    for when, side, symbol, quantity, price, fee, note in rows.values_list(
        "time", "side", "coin__symbol", "quantity", "price", "fee", "note"
    ):
        moment = when.astimezone(UTC).isoformat().replace("+00:00", "Z")
        writer.writerow([moment, side, symbol, _stored_text(quantity), _stored_text(price), _stored_text(fee), note])
    return out.getvalue()
