"""``get_portfolio``: the user's holdings with P&L at live prices (``portfolio_summary``, as GET /api/portfolio
answers) and how the coins on each of the user's watchlists did since they were added."""

from __future__ import annotations

from django.urls import reverse

from assistant.tools.arguments import ReadOnly, arguments_check, rounded, watchlist_link
from assistant.tools.base import ToolOutcome
from assistant.tools.schemas import GET_PORTFOLIO
from watchlists.portfolio_selectors import portfolio_summary
from watchlists.selectors import watchlist_items, watchlists_list

LISTS = 10  # watchlists summarised, the default first
COINS = 20  # coins shown per list, in the list's order
POSITION_FIELDS = ("symbol", "quantity", "average_buy_price", "price", "value", "unrealized_pnl", "realized_pnl")


class GetPortfolio(ReadOnly):
    name = "get_portfolio"
    description = (
        "The user's portfolio: each holding's quantity, average buy price, live price, value, unrealized and "
        "realized P&L and P&L percent, the totals, and the performance of the coins on the user's watchlists "
        "(24h change and change since added). method: average (default: the user's setting) or fifo."
    )
    parameters = GET_PORTFOLIO

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        args = arguments_check(arguments, GET_PORTFOLIO)
        summary = portfolio_summary(user=user, method=args.get("method"))
        lists = list(watchlists_list(user=user)[:LISTS])
        result = {
            "method": summary["method"],
            "positions": [
                {**{k: p[k] for k in POSITION_FIELDS}, "pnl_percent": p["pnl_percent"]} for p in summary["positions"]
            ],
            "totals": summary["totals"],
            "watchlists": [_performance(watchlist) for watchlist in lists],
        }
        links = [{"label": "Portfolio", "url": reverse("portfolio")}, *map(watchlist_link, lists)]
        return ToolOutcome(result=result, links=links)


def _performance(watchlist) -> dict:
    items = watchlist_items(watchlist=watchlist)
    since = [item["change_since_added"] for item in items if item["change_since_added"] is not None]
    return {
        "name": watchlist.name,
        "coins": len(items),
        "average_change_since_added": rounded(sum(since) / len(since), 4) if since else None,
        "items": [
            {
                "symbol": item["symbol"],
                "price": rounded(item["price"]),
                "change24h": rounded(item["change24h"], 4),
                "change_since_added": rounded(item["change_since_added"], 4),
            }
            for item in items[:COINS]
        ],
    }
