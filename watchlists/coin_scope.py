"""The dashboard filtered to one of the user's watchlists (``/?watchlist=<id>``): the coin table's
rows narrowed to the list's coins, or, for a list that is not the user's, no rows and a reason."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from watchlists.models import Watchlist
from watchlists.selectors import watchlist_get


def watchlist_scope(*, user, value: str | None) -> tuple[Watchlist | None, str]:
    """The list that ``?watchlist=`` names, or why there is none to show ("" when none was asked for)."""
    if not value:
        return None, ""
    if not user.is_authenticated:
        return None, "Log in to see the coins of your watchlists."
    try:
        return watchlist_get(user=user, id=value), ""
    except Http404:
        return None, f"You have no watchlist {value[:30]!r}: choose one of yours from the list."


def coins_scoped(coins: QuerySet, watchlist: Watchlist | None, error: str) -> QuerySet:
    """``coins`` narrowed to the list's coins; none when the list asked for is not the user's."""
    if error:
        return coins.none()
    return coins.filter(watchlist_items__watchlist=watchlist) if watchlist else coins
