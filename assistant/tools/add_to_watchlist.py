"""``add_to_watchlist``: a coin appended to one of the user's watchlists, named, or the default one, through
``watchlists.services.watchlist_item_add`` as the pages and the API do. Undone by taking the coin off."""

from __future__ import annotations

from django.http import Http404

from assistant.tools.arguments import arguments_check, coin_link, coin_of, id_of, watchlist_link, watchlist_named
from assistant.tools.base import ToolError, ToolOutcome
from assistant.tools.create_alert import refused_words
from assistant.tools.schemas import ADD_TO_WATCHLIST
from scalpaiboard.api import ApplicationError
from watchlists.selectors import watchlist_get
from watchlists.services import watchlist_item_add, watchlist_item_remove


class AddToWatchlist:
    name = "add_to_watchlist"
    description = (
        "Add a coin to one of the user's watchlists (by its name), or to the default list when no name is "
        "given. The coin is recorded at its current price, to follow its change since added."
    )
    parameters = ADD_TO_WATCHLIST
    mutates = True

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        args = arguments_check(arguments, ADD_TO_WATCHLIST)
        coin = coin_of(args["symbol"])
        watchlist = watchlist_named(user=user, name=args.get("watchlist"))
        try:
            item = watchlist_item_add(watchlist=watchlist, symbol=coin.symbol)
        except ApplicationError as refused:
            raise ToolError(refused_words(refused)) from None
        result = {
            "symbol": coin.symbol,
            "watchlist": {"id": watchlist.pk, "name": watchlist.name},
            "added_price": item.added_price,
            "coins_on_list": watchlist.items.count(),
        }
        links = [watchlist_link(watchlist), coin_link(coin.symbol)]
        return ToolOutcome(result=result, links=links, undo={"watchlist_id": watchlist.pk, "symbol": coin.symbol})

    def undo(self, *, user, undo: dict) -> None:
        """Take the coin off the list, if the list is the user's and the coin still on it."""
        watchlist_id, symbol = id_of(undo, "watchlist_id"), undo.get("symbol") if isinstance(undo, dict) else None
        if watchlist_id is None or not isinstance(symbol, str):
            return
        try:
            watchlist_item_remove(watchlist=watchlist_get(user=user, id=watchlist_id), symbol=symbol)
        except Http404:  # not the user's list, or the coin already gone: nothing to take back
            return
