"""Alerts that follow a watchlist (``"watchlist": id`` instead of a symbol): see issue 14.

A watchlist alert is an ``Alert`` with ``watchlist`` set and no coin: what its user sees, edits, pauses
and deletes. The engine never reads it. For each coin on the list it has one *member*: an ordinary
per-coin alert (``parent`` set, the parent's body and status, a coin of its own) that the engine
evaluates like any other, whose firings name its coin and are told as the parent's (notifications,
deliveries to the parent's channels, the parent's history).

``watchlist_alerts_sync`` is called by the watchlists app's services, in their transaction, whenever a
list's coins change (an item added or removed, the list deleted), so that the list's alerts cover its
coins from then on and no longer fire for a coin removed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from alerts.changes import alerts_changed
from alerts.models import Alert
from watchlists.models import Watchlist, WatchlistItem

# What a member copies from its watchlist alert (besides the status): the body, and its owner.
BODY = ("user_id", "kind", "condition", "frequency", "timeframe", "cooldown", "expires_at", "message", "note", "urgent")


def watchlist_alerts_sync(*, watchlist_id: int) -> None:
    """Bring the alerts that follow watchlist ``watchlist_id`` in line with its coins: each gets a member
    (in the alert's status) for every coin on the list that has none, and loses the members (with their
    firings) of coins no longer on it. Call it inside the transaction that changed the list, after the
    change (after deleting the list too: its alerts went with it, and the engines must reload). Idempotent;
    engines reload once the transaction commits, and only if something changed."""
    with transaction.atomic():
        exists = _list_lock(watchlist_id)
        parents = list(Alert.objects.filter(watchlist_id=watchlist_id))
        if members_sync(parents, watchlist_coins(watchlist_id)) or not exists:
            alerts_changed()


def members_sync(parents: list[Alert], coins: Iterable[int]) -> bool:
    """Each of ``parents`` (watchlist alerts) given exactly one member per coin id of ``coins``; whether
    any member was added or removed. The caller tells the engines (``alerts_changed``)."""
    coins = set(coins)
    if not parents:
        return False
    members = Alert.objects.filter(parent__in=parents)
    removed = members.exclude(coin_id__in=coins).delete()[0]
    having = set(members.values_list("parent_id", "coin_id"))
    new = [member_of(parent, coin) for parent in parents for coin in sorted(coins) if (parent.pk, coin) not in having]
    # A sync of the same list at once in another transaction may have made some: those stay.
    Alert.objects.bulk_create(new, ignore_conflicts=True)
    return bool(removed or new)


def member_of(parent: Alert, coin_id: int) -> Alert:
    """A new member of ``parent`` for the coin ``coin_id`` (not saved)."""
    return Alert(parent=parent, coin_id=coin_id, status=parent.status, **{name: getattr(parent, name) for name in BODY})


def members_update(parent: Alert, *, fields: list[str], reset_state: bool) -> None:
    """The members of ``parent`` given its new values of ``fields`` (body fields); what the engine
    remembered of them forgotten when ``reset_state`` (the condition or timeframe changed)."""
    values = {name: getattr(parent, name) for name in fields if name in BODY}
    if reset_state:
        values["engine_state"] = {}
    if values:
        Alert.objects.filter(parent=parent).update(**values, updated_at=timezone.now())


def watchlist_coins(watchlist_id: int) -> list[int]:
    """The coin ids on watchlist ``watchlist_id``, read under the list's lock (inside a transaction)."""
    _list_lock(watchlist_id)
    return list(WatchlistItem.objects.filter(watchlist_id=watchlist_id).values_list("coin_id", flat=True))


def _list_lock(watchlist_id: int) -> bool:
    """Lock the list's row (PostgreSQL) until the transaction ends, so that an alert made on it and a sync
    of its coins at once are serialised: the later sees the earlier's rows, and no coin is missed.
    Whether the list exists."""
    return bool(list(Watchlist.objects.select_for_update().filter(pk=watchlist_id).values_list("pk")))
