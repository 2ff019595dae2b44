"""Alerts that follow a watchlist (``"watchlist": id`` instead of a symbol): see issue 14.

``watchlist_alerts_sync`` is called by the watchlists app's services, in their transaction, whenever a
list's coins change (an item added or removed, the list deleted), so that the list's alerts cover its
coins from then on and no longer fire for a coin removed.
"""

from __future__ import annotations


def watchlist_alerts_sync(*, watchlist_id: int) -> None:
    """Bring the alerts that follow this watchlist in line with its coins."""
    # Implemented with the watchlist-scoped alerts; until then no alert follows a watchlist.
    return None
