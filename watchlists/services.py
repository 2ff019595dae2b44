"""Writes of the watchlists app (keyword-only ``<thing>_<verb>`` functions): lists made, renamed and
deleted; coins added, annotated, reordered and removed. Pages and the API both call these.

Bad input raises ``ApplicationError`` (400) whose body names the field; another user's list or a coin
not on the list is an ``Http404``. Every change to a list's coins tells the alerts that follow the list
(``watchlist_alerts_sync``) in the same transaction.

The default list cannot be deleted (400): the seed's ``/api/watchlist`` always acts on it. It can be
renamed and emptied.
"""

from __future__ import annotations

import math
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404

from alerts import services as alert_services
from alerts.alert_fields import AlertInvalid
from alerts.conditions import MAX_PRICE
from alerts.models import Alert
from alerts.watchlist_alerts import watchlist_alerts_sync
from markets.models import Coin
from markets.selectors import coin_get
from scalpaiboard.api import ApplicationError
from watchlists.models import DEFAULT_NAME, MAX_ITEMS, Watchlist, WatchlistItem

MAX_LISTS = 100  # named lists per user
NAME_LENGTH = Watchlist._meta.get_field("name").max_length
NOTE_LENGTH = WatchlistItem._meta.get_field("note").max_length


class _Unset:
    """A keyword left out (as opposed to None, which clears the value)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, extra={field: [message]})


# --- Lists -----------------------------------------------------------------------------------------


def watchlist_default(*, user) -> Watchlist:
    """The user's default list, made when missing."""
    found = Watchlist.objects.filter(user=user, is_default=True).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return Watchlist.objects.create(user=user, name=_free_name(user), is_default=True)
    except IntegrityError:  # made concurrently
        return Watchlist.objects.get(user=user, is_default=True)


def _free_name(user) -> str:
    taken = set(Watchlist.objects.filter(user=user).values_list("name", flat=True))
    name, n = DEFAULT_NAME, 1
    while name in taken:
        n += 1
        name = f"{DEFAULT_NAME} {n}"
    return name


def on_user_created(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of the user model: a new user gets the default list."""
    if created and not raw:
        watchlist_default(user=instance)


def _name_clean(*, user, name, exclude: int | None = None) -> str:
    """``name`` stripped; 1 to 100 characters, not another of the user's lists' (any case)."""
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise _refuse("name", f"Must be a non-empty text of at most {NAME_LENGTH} characters.")
    name = name.strip()
    if len(name) > NAME_LENGTH:
        raise _refuse("name", f"At most {NAME_LENGTH} characters ({len(name)} given).")
    if Watchlist.objects.filter(user=user, name__iexact=name).exclude(pk=exclude).exists():
        raise _refuse("name", f"You already have a list named {name!r}: choose another name.")
    return name


def watchlist_create(*, user, name: str) -> Watchlist:
    """A new empty list, after the user's others."""
    with transaction.atomic():
        # The user's row locked: two requests at once cannot both take the last place (PostgreSQL).
        list(get_user_model().objects.select_for_update().filter(pk=getattr(user, "pk", user)).values_list("pk"))
        name = _name_clean(user=user, name=name)
        lists = Watchlist.objects.filter(user=user)
        if lists.count() >= MAX_LISTS:
            raise _refuse("name", f"Too many lists: you have {MAX_LISTS}, the most allowed. Delete one first.")
        last = lists.aggregate(last=Max("position"))["last"]
        try:
            with transaction.atomic():
                return Watchlist.objects.create(user=user, name=name, position=(last or 0) + 1)
        except IntegrityError:  # the same name made concurrently
            raise _refuse("name", f"You already have a list named {name!r}: choose another name.") from None


def watchlist_update(*, watchlist: Watchlist, name: str) -> Watchlist:
    """The list renamed."""
    watchlist.name = _name_clean(user=watchlist.user_id, name=name, exclude=watchlist.pk)
    try:
        with transaction.atomic():
            watchlist.save(update_fields=["name", "updated_at"])
    except IntegrityError:
        raise _refuse("name", f"You already have a list named {watchlist.name!r}: choose another name.") from None
    return watchlist


def watchlist_delete(*, watchlist: Watchlist) -> None:
    """Delete a list that is not the default one, with its items and their target/stop alerts."""
    if watchlist.is_default:
        raise _refuse(
            "watchlist",
            "The default list cannot be deleted (GET /api/watchlist shows it): rename it or remove its coins instead.",
        )
    with transaction.atomic():
        alert_ids = _item_alert_ids(WatchlistItem.objects.filter(watchlist=watchlist))
        watchlist_id = watchlist.pk
        watchlist.delete()
        _alerts_delete(alert_ids)
        watchlist_alerts_sync(watchlist_id=watchlist_id)


# --- Items -----------------------------------------------------------------------------------------


def _coin_for(symbol) -> Coin:
    """The listed coin named ``symbol`` (any case), or a 400 naming it."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise _refuse("symbol", "Must be a coin's symbol, e.g. BTC (GET /api/coins lists them).")
    shown = symbol.strip().upper()[:30]
    try:
        coin = coin_get(symbol=symbol.strip())
    except Coin.DoesNotExist:
        raise _refuse("symbol", f"Unknown coin symbol '{shown}'. GET /api/coins lists the known ones.") from None
    if not coin.is_active:
        raise _refuse("symbol", f"Not listed now: {coin.symbol} has no live price to follow.")
    return coin


def _note_clean(note) -> str:
    if not isinstance(note, str) or "\x00" in note:
        raise _refuse("note", f"Must be a text of at most {NOTE_LENGTH} characters.")
    if len(note) > NOTE_LENGTH:
        raise _refuse("note", f"At most {NOTE_LENGTH} characters ({len(note)} given).")
    return note


def _locked(watchlist: Watchlist) -> None:
    """Serialise writes to one list's items (positions and the 500 cap) on PostgreSQL."""
    list(Watchlist.objects.select_for_update().filter(pk=watchlist.pk).values_list("pk"))


def watchlist_item_add(
    *, watchlist: Watchlist, symbol: str, note: str = "", target_price=None, stop_price=None
) -> WatchlistItem:
    """``symbol`` appended to the list at its current price, with its target and stop alerts when given;
    400 naming ``symbol`` when it is unknown, already on the list, or the list holds MAX_ITEMS coins."""
    coin, note = _coin_for(symbol), _note_clean(note)
    prices = {"target_price": target_price, "stop_price": stop_price}
    prices = {name: _price_clean(name, value) for name, value in prices.items() if value is not None}
    with transaction.atomic():
        _locked(watchlist)
        items = WatchlistItem.objects.filter(watchlist=watchlist)
        if items.filter(coin=coin).exists():
            raise _refuse("symbol", f"Already on this list: {coin.symbol} is on {watchlist.name}.")
        if items.count() >= MAX_ITEMS:
            raise _refuse("symbol", f"The list is full: {watchlist.name} holds {MAX_ITEMS} coins. Remove one first.")
        last = items.aggregate(last=Max("position"))["last"]
        item = WatchlistItem.objects.create(
            watchlist=watchlist, coin=coin, note=note, added_price=coin.price, position=0 if last is None else last + 1
        )
        watchlist_alerts_sync(watchlist_id=watchlist.pk)
        item.coin, item.watchlist = coin, watchlist
        return watchlist_item_update(item=item, **prices) if prices else item


def watchlist_item_update(*, item: WatchlistItem, note=UNSET, target_price=UNSET, stop_price=UNSET) -> WatchlistItem:
    """The item's note, target and stop edited (those given; None clears a price). A target is kept as a
    ``crossing_up`` alert on the coin, a stop as a ``crossing_down`` one: made, moved or deleted with it."""
    fields = {}
    if note is not UNSET:
        fields["note"] = _note_clean(note)
    prices = {name: value for name, value in (("target_price", target_price), ("stop_price", stop_price))}
    prices = {name: _price_clean(name, value) for name, value in prices.items() if value is not UNSET}
    with transaction.atomic():
        for name, value in prices.items():
            fields.update(_price_alert_set(item, name, value))
        for name, value in fields.items():
            setattr(item, name, value)
        if fields:
            item.save(update_fields=list(fields))
    return item


def _price_clean(field: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _refuse(field, "Must be a positive number (USDT), or null to clear it.") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _refuse(field, "Must be a positive number (USDT), or null to clear it.")
    if not 0 < value <= MAX_PRICE:
        raise _refuse(field, f"Must be a number above 0 and at most {MAX_PRICE:g} (USDT), or null to clear it.")
    return float(value)


PRICE_ALERTS = {"target_price": ("target_alert", "crossing_up"), "stop_price": ("stop_alert", "crossing_down")}


def _price_alert_set(item: WatchlistItem, field: str, price: float | None) -> dict:
    """The item's fields after its target (or stop) becomes ``price``, its alert made, moved or deleted."""
    link, kind = PRICE_ALERTS[field]
    alert = Alert.objects.filter(pk=getattr(item, f"{link}_id")).first()
    if price is None:
        if alert is not None:
            alert_services.alert_delete(alert=alert)
        return {field: None, link: None}
    condition = {"kind": kind, "level": price}
    try:
        if alert is None:
            alert = alert_services.alert_create(user=item.watchlist.user, data=_alert_body(item, field, condition))
        else:
            alert = alert_services.alert_update(alert=alert, data={"condition": condition}, partial=True)
    except AlertInvalid as refused:
        raise _refuse(field, f"Its alert was refused: {refused.message}") from None
    return {field: price, link: alert}


def _alert_body(item: WatchlistItem, field: str, condition: dict) -> dict:
    words = "Target" if field == "target_price" else "Stop"
    note = f"{words} price of {item.coin.symbol} on the watchlist {item.watchlist.name}"
    return {"symbol": item.coin.symbol, "condition": condition, "note": note[:1000]}


def watchlist_item_remove(*, watchlist: Watchlist, symbol: str) -> None:
    """``symbol`` taken off the list, with its target and stop alerts; 404 naming it when it is not on it."""
    shown = symbol.strip().upper() if isinstance(symbol, str) else str(symbol)
    with transaction.atomic():
        _locked(watchlist)
        # No symbol holds NUL, which PostgreSQL refuses in a query.
        held = WatchlistItem.objects.filter(watchlist=watchlist, coin__symbol=shown)
        item = held.first() if "\x00" not in shown else None
        if item is None:
            raise Http404(f"{shown[:30]} is not on {watchlist.name}.")
        alert_ids = _item_alert_ids([item])
        item.delete()
        _alerts_delete(alert_ids)
        watchlist_alerts_sync(watchlist_id=watchlist.pk)


def _item_alert_ids(items) -> list[int]:
    return [pk for item in items for pk in (item.target_alert_id, item.stop_alert_id) if pk]


def _alerts_delete(ids: list[int]) -> None:
    for alert in Alert.objects.filter(pk__in=ids):
        alert_services.alert_delete(alert=alert)


def watchlist_order(*, watchlist: Watchlist, symbols: list[str]) -> None:
    """The list's coins put in the order of ``symbols``, which must name each of them exactly once."""
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise _refuse("symbols", "Must be a list of the list's symbols in their new order.")
    if len(symbols) > MAX_ITEMS:
        raise _refuse("symbols", f"A list holds at most {MAX_ITEMS} coins; {len(symbols)} symbols given.")
    wanted = [s.strip().upper() for s in symbols]
    with transaction.atomic():
        _locked(watchlist)
        held = WatchlistItem.objects.filter(watchlist=watchlist).select_related("coin")
        items = {item.coin.symbol: item for item in held}
        _order_check(wanted, set(items))
        for position, symbol in enumerate(wanted):
            items[symbol].position = position
        WatchlistItem.objects.bulk_update(items.values(), ["position"])


def _order_check(wanted: list[str], held: set[str]) -> None:
    """400 naming ``symbols`` unless ``wanted`` is ``held`` in some order."""
    problems = []
    repeated = sorted(s for s, n in Counter(wanted).items() if n > 1)
    if repeated:
        problems.append("named more than once: " + ", ".join(s[:30] for s in repeated[:20]))
    if missing := sorted(held - set(wanted)):
        problems.append("missing: " + ", ".join(missing[:20]))
    if unknown := sorted(set(wanted) - held):
        problems.append("not on the list: " + ", ".join(s[:30] for s in unknown[:20]))
    if problems:
        raise _refuse("symbols", "Must name each of the list's coins exactly once; " + "; ".join(problems) + ".")
