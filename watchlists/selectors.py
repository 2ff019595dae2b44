"""Reads of the watchlists app for pages and the API: a user's lists, and a list's items with their
live figures, in a fixed number of queries however many coins a list holds.

Live figures are the coins' rows, which the market feed rewrites every second (the figures
``/api/coins`` answers): an item's ``price``, ``change24h`` and ``volume24h`` are its coin's.
``change7d`` / ``change30d`` compare the price with the close of the last hourly bar that had closed
7 (30) days before the current hour began, or, without hourly bars then, of the last daily bar closed
by then; None when the stored history does not reach that far back (no such bar in the day before).
Those closes and the sparklines are fixed for the hour, and cached until it ends.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from markets.models import Candle, Coin
from scalpaiboard.api import ApplicationError
from watchlists.models import Watchlist, WatchlistItem
from watchlists.services import watchlist_default

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
SPARKLINE_DAYS = 7
SETTLE_SECONDS = 120  # into an hour, before what is read of its closed bars is kept to its end
MAX_ID = 2**63 - 1
# An item's fields as the API answers them, in that order (``sparkline`` too when asked for).
ITEM_FIELDS = (
    "symbol",
    "name",
    "price",
    "change24h",
    "change7d",
    "change30d",
    "change_since_added",
    "volume24h",
    "added_at",
    "added_price",
    "note",
    "target_price",
    "stop_price",
    "target_alert",
    "stop_alert",
    "position",
)
ORDERINGS = tuple(f"{sign}{field}" for field in ITEM_FIELDS for sign in ("", "-"))
TEXT_FIELDS = {"symbol", "name", "note"}


# --- Lists -----------------------------------------------------------------------------------------


def watchlists_list(*, user) -> QuerySet[Watchlist]:
    """The user's lists, the default first, then in their order, each with ``item_count``."""
    lists = Watchlist.objects.filter(user=user).annotate(item_count=Count("items"))
    return lists.order_by("-is_default", "position", "id")


def watchlist_get(*, user, id) -> Watchlist:
    """The user's list ``id``; Http404 when there is none, or it is someone else's."""
    try:
        pk = int(id)
    except (TypeError, ValueError):
        pk = None
    found = Watchlist.objects.filter(user=user, pk=pk).first() if pk is not None and 0 < pk <= MAX_ID else None
    if found is None:
        raise Http404(f"You have no watchlist {str(id)[:30]}. GET /api/watchlists lists yours.")
    return found


def watchlist_default_get(*, user) -> Watchlist:
    """The user's default list (the seed's ``/api/watchlist``), made if it went missing."""
    return watchlist_default(user=user)


def watchlist_item_get(*, watchlist: Watchlist, symbol: str) -> WatchlistItem:
    """The item of ``symbol`` (any case) on the list, with its coin; Http404 naming it when it is not on it."""
    shown = symbol.strip().upper() if isinstance(symbol, str) else str(symbol)
    found = None
    if "\x00" not in shown:  # no symbol holds NUL, which PostgreSQL refuses in a query
        found = WatchlistItem.objects.filter(watchlist=watchlist, coin__symbol=shown).select_related("coin").first()
    if found is None:
        raise Http404(f"{shown[:30]} is not on {watchlist.name}.")
    found.watchlist = watchlist
    return found


def starred_symbols(*, user) -> dict[str, list[int]]:
    """Each symbol on any of the user's lists -> the ids of those lists (the stars on coin rows)."""
    starred: dict[str, list[int]] = {}
    rows = WatchlistItem.objects.filter(watchlist__user=user).order_by("watchlist_id")
    for symbol, list_id in rows.values_list("coin__symbol", "watchlist_id"):
        starred.setdefault(symbol, []).append(list_id)
    return starred


# --- Items with their figures ----------------------------------------------------------------------


def watchlist_items(
    *,
    watchlist: Watchlist,
    ordering: str | None = None,
    sparkline: bool = False,
    symbol: str | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """The list's items as the API answers them, in the list's order or by ``ordering`` (an item field,
    ``-`` first for descending; empty values last either way); ``sparkline``: each with the hourly closes
    of the last 7 days; ``symbol``: that coin's item only. At most three queries (the items, the closes
    7 and 30 days ago, the sparklines: the last two only for coins the cache lacks this hour), whatever
    the number of items. ``now``: the instant the changes are measured to (tests)."""
    if ordering and ordering not in ORDERINGS:
        allowed = ", ".join(ITEM_FIELDS)
        message = f"Unknown ordering {ordering[:40]!r}; allowed: any of {allowed}, with - for descending."
        raise ApplicationError(message, extra={"ordering": [message]})
    now = now or timezone.now()
    items = WatchlistItem.objects.filter(watchlist=watchlist)
    if symbol is not None:
        items = items.filter(coin__symbol=symbol.upper())
    found = list(items.order_by("position", "id").values_list(*ITEM_COLUMNS))
    coin_ids = [columns[0] for columns in found]
    references, closes = _hour_figures(coin_ids=coin_ids, now=now, sparkline=sparkline)
    rows = [_item_row(columns, references[columns[0]]) for columns in found]
    if sparkline:
        for coin_id, row in zip(coin_ids, rows, strict=True):
            row["sparkline"] = closes[coin_id]
    return _ordered(rows, ordering) if ordering else rows


def _hour_figures(*, coin_ids: list[int], now: datetime, sparkline: bool) -> tuple[dict, dict | None]:
    """The coins' closes 7 and 30 days ago (and sparklines), kept for the hour under one key per set of
    coins too: one cache read for a list read again (a key per coin costs ~20 us each to read back).
    Not before 2 x SETTLE_SECONDS into the hour, when what the coins' keys hold may still be unsettled."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    digest = hashlib.blake2b(",".join(map(str, sorted(coin_ids))).encode(), digest_size=16).hexdigest()
    key = f"watchlists:coins:{digest}:{'sparkline' if sparkline else 'references'}:{int(hour.timestamp())}"
    into_hour = (now - hour).total_seconds()
    settled = into_hour >= 2 * SETTLE_SECONDS
    figures = cache.get(key) if settled and coin_ids else None
    if figures is None:
        references = reference_closes_for(coin_ids=coin_ids, now=now)
        figures = (references, sparklines_for(coin_ids=coin_ids, now=now) if sparkline else None)
        if settled and coin_ids:
            cache.set(key, figures, timeout=max(1, int(3600 - into_hour)))
    return figures


ITEM_COLUMNS = (
    *("coin_id", "coin__symbol", "coin__name", "coin__price", "coin__change_24h", "coin__volume_24h"),
    *("added_at", "added_price", "note", "target_price", "stop_price", "target_alert_id", "stop_alert_id"),
    "position",
)


def _item_row(columns: tuple, references: tuple[float | None, float | None]) -> dict:
    _, symbol, name, price, change24h, volume24h, added_at, added_price, note, *rest = columns
    target_price, stop_price, target_alert, stop_alert, position = rest
    return {
        "symbol": symbol,
        "name": name,
        "price": price,
        "change24h": change24h,
        "change7d": _change(price, references[0]),
        "change30d": _change(price, references[1]),
        "change_since_added": _change(price, added_price),
        "volume24h": volume24h,
        "added_at": added_at,
        "added_price": added_price,
        "note": note,
        "target_price": target_price,
        "stop_price": stop_price,
        "target_alert": target_alert,
        "stop_alert": stop_alert,
        "position": position,
    }


def _change(price: float | None, before: float | None) -> float | None:
    """Percent change from ``before`` to ``price``; None without both (or from zero)."""
    if price is None or not before:
        return None
    return (price - before) / before * 100


# --- Closes by the hour, cached until the hour ends ------------------------------------------------


def _hourly_cached(kind: str, *, coin_ids: list[int], now: datetime, load) -> dict:
    """``load(coin_ids, hour)`` for each coin, read from the cache where this hour's is there and loaded
    at once for the others. Every figure read here is fixed for the hour (bars closed before it).

    The feed stores an hour's bar as the hour turns: what is read in an hour's first SETTLE_SECONDS
    is kept that long only, so that a bar stored late shows soon after."""
    if not coin_ids:
        return {}
    hour = now.replace(minute=0, second=0, microsecond=0)
    keys = {coin_id: f"watchlists:{kind}:{coin_id}:{int(hour.timestamp())}" for coin_id in coin_ids}
    cached = cache.get_many(list(keys.values()))
    found = {coin_id: cached[key] for coin_id, key in keys.items() if key in cached}
    missing = [coin_id for coin_id in coin_ids if coin_id not in found]
    if missing:
        loaded = load(missing, hour)
        into_hour = (now - hour).total_seconds()
        timeout = SETTLE_SECONDS if into_hour < SETTLE_SECONDS else 3600 - into_hour
        cache.set_many({keys[coin_id]: loaded[coin_id] for coin_id in missing}, timeout=max(1, int(timeout)))
        found.update(loaded)
    return found


def reference_closes_for(*, coin_ids: list[int], now: datetime) -> dict[int, tuple[float | None, float | None]]:
    """Each coin's (close 7 days ago, close 30 days ago), None where the history is too short."""
    return _hourly_cached("references", coin_ids=coin_ids, now=now, load=_reference_closes_load)


def _reference_closes_load(coin_ids: list[int], hour: datetime) -> dict:
    rows = Coin.objects.filter(pk__in=coin_ids).annotate(
        close_7d=reference_close(days=7, hour=hour), close_30d=reference_close(days=30, hour=hour)
    )
    loaded = {pk: (c7, c30) for pk, c7, c30 in rows.values_list("pk", "close_7d", "close_30d")}
    return {coin_id: loaded.get(coin_id, (None, None)) for coin_id in coin_ids}


def reference_close(*, days: int, hour: datetime) -> Coalesce:
    """The close of the coin ``days`` before ``hour``: of the last 1h bar closed by then (opened within
    the day before), else of the last 1d bar closed by then (opened within the two days before)."""
    cutoff = hour - timedelta(days=days)
    return Coalesce(
        Subquery(_last_bar(timeframe="1h", opened_by=cutoff - HOUR, opened_after=cutoff - HOUR - DAY)),
        Subquery(_last_bar(timeframe="1d", opened_by=cutoff - DAY, opened_after=cutoff - 3 * DAY)),
    )


def _last_bar(*, timeframe: str, opened_by: datetime, opened_after: datetime) -> QuerySet:
    bars = Candle.objects.filter(
        coin=OuterRef("pk"), timeframe=timeframe, open_time__lte=opened_by, open_time__gt=opened_after
    )
    return bars.order_by("-open_time").values("close")[:1]


def sparklines_for(*, coin_ids: list[int], now: datetime | None = None) -> dict[int, list[float]]:
    """Each coin's hourly closes (closed 1h bars) of the last 7 days, oldest first."""
    return _hourly_cached("sparkline", coin_ids=coin_ids, now=now or timezone.now(), load=_sparklines_load)


def _sparklines_load(coin_ids: list[int], hour: datetime) -> dict[int, list[float]]:
    since = hour - timedelta(days=SPARKLINE_DAYS)
    bars = Candle.objects.filter(coin_id__in=coin_ids, timeframe="1h", open_time__gte=since)
    closes: dict[int, list[float]] = {coin_id: [] for coin_id in coin_ids}
    if connection.vendor == "postgresql":  # a row per coin, its closes as one array: 168 times fewer rows
        grouped = bars.values("coin_id").annotate(closes=ArrayAgg("close", order_by="open_time")).order_by()
        closes.update(grouped.values_list("coin_id", "closes"))
        return closes
    for coin_id, close in bars.order_by("coin_id", "open_time").values_list("coin_id", "close"):
        closes[coin_id].append(close)
    return closes


def _ordered(rows: list[dict], ordering: str) -> list[dict]:
    """``rows`` sorted by one field (text without regard to case), empty values last in both directions."""
    field, descending = ordering.lstrip("-"), ordering.startswith("-")
    present = [row for row in rows if row[field] is not None]
    empty = [row for row in rows if row[field] is None]

    def key(row: dict):
        return row[field].casefold() if field in TEXT_FIELDS else row[field]

    return sorted(present, key=key, reverse=descending) + empty
