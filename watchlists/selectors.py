"""Reads of the watchlists app for pages and the API: a user's lists, and a list's items with their
live figures, in a fixed number of queries however many coins a list holds.

Live figures are the coins' rows, which the market feed rewrites every second (the figures
``/api/coins`` answers): an item's ``price``, ``change24h`` and ``volume24h`` are its coin's.
``change7d`` / ``change30d`` compare the price with the close of the last hourly bar that had closed
7 (30) days ago, or, without hourly bars then, of the last daily bar closed by then; None when the
stored history does not reach that far back (no such bar in the day before).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from markets.models import Candle
from scalpaiboard.api import ApplicationError
from watchlists.models import Watchlist, WatchlistItem
from watchlists.services import watchlist_default

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
SPARKLINE_DAYS = 7
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
    of the last 7 days; ``symbol``: that coin's item only. One query (two with sparklines) whatever the
    number of items. ``now``: the instant the changes are measured to (tests)."""
    if ordering and ordering not in ORDERINGS:
        allowed = ", ".join(ITEM_FIELDS)
        message = f"Unknown ordering {ordering[:40]!r}; allowed: any of {allowed}, with - for descending."
        raise ApplicationError(message, extra={"ordering": [message]})
    now = now or timezone.now()
    items = _items_with_references(watchlist, now)
    items = list(items.filter(coin__symbol=symbol.upper()) if symbol is not None else items)
    rows = [_item_row(item) for item in items]
    if sparkline:
        closes = sparklines_for(coin_ids=[item.coin_id for item in items], now=now)
        for item, row in zip(items, rows, strict=True):
            row["sparkline"] = closes.get(item.coin_id, [])
    return _ordered(rows, ordering) if ordering else rows


def _items_with_references(watchlist: Watchlist, now: datetime) -> QuerySet[WatchlistItem]:
    return (
        WatchlistItem.objects.filter(watchlist=watchlist)
        .select_related("coin")
        .only(
            *("position", "note", "added_at", "added_price", "target_price", "stop_price"),
            *("target_alert_id", "stop_alert_id", "watchlist_id", "coin_id"),
            *("coin__symbol", "coin__name", "coin__price", "coin__change_24h", "coin__volume_24h"),
        )
        .annotate(close_7d=reference_close(days=7, now=now), close_30d=reference_close(days=30, now=now))
        .order_by("position", "id")
    )


def reference_close(*, days: int, now: datetime) -> Coalesce:
    """The close of the item's coin ``days`` ago: of the last 1h bar closed by then (opened within the
    day before), else of the last 1d bar closed by then (opened within the two days before)."""
    cutoff = now - timedelta(days=days)
    return Coalesce(
        Subquery(_last_bar(timeframe="1h", opened_by=cutoff - HOUR, opened_after=cutoff - HOUR - DAY)),
        Subquery(_last_bar(timeframe="1d", opened_by=cutoff - DAY, opened_after=cutoff - 3 * DAY)),
    )


def _last_bar(*, timeframe: str, opened_by: datetime, opened_after: datetime) -> QuerySet:
    bars = Candle.objects.filter(
        coin=OuterRef("coin_id"), timeframe=timeframe, open_time__lte=opened_by, open_time__gt=opened_after
    )
    return bars.order_by("-open_time").values("close")[:1]


def _change(price: float | None, before: float | None) -> float | None:
    """Percent change from ``before`` to ``price``; None without both (or from zero)."""
    if price is None or not before:
        return None
    return (price - before) / before * 100


def _item_row(item: WatchlistItem) -> dict:
    coin = item.coin
    return {
        "symbol": coin.symbol,
        "name": coin.name,
        "price": coin.price,
        "change24h": coin.change_24h,
        "change7d": _change(coin.price, item.close_7d),
        "change30d": _change(coin.price, item.close_30d),
        "change_since_added": _change(coin.price, item.added_price),
        "volume24h": coin.volume_24h,
        "added_at": item.added_at,
        "added_price": item.added_price,
        "note": item.note,
        "target_price": item.target_price,
        "stop_price": item.stop_price,
        "target_alert": item.target_alert_id,
        "stop_alert": item.stop_alert_id,
        "position": item.position,
    }


def sparklines_for(*, coin_ids: list[int], now: datetime | None = None) -> dict[int, list[float]]:
    """Each coin's hourly closes (closed 1h bars) of the last 7 days, oldest first, in one query."""
    if not coin_ids:
        return {}
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=SPARKLINE_DAYS)
    rows = (
        Candle.objects.filter(coin_id__in=coin_ids, timeframe="1h", open_time__gte=since)
        .order_by("coin_id", "open_time")
        .values_list("coin_id", "close")
    )
    closes: dict[int, list[float]] = {}
    for coin_id, close in rows:
        closes.setdefault(coin_id, []).append(close)
    return closes


def _ordered(rows: list[dict], ordering: str) -> list[dict]:
    """``rows`` sorted by one field (text without regard to case), empty values last in both directions."""
    field, descending = ordering.lstrip("-"), ordering.startswith("-")
    present = [row for row in rows if row[field] is not None]
    empty = [row for row in rows if row[field] is None]

    def key(row: dict):
        return row[field].casefold() if field in TEXT_FIELDS else row[field]

    return sorted(present, key=key, reverse=descending) + empty
