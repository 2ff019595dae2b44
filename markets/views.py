"""Market pages: the dashboard (one view for the page and its HTMX table), the coin page, the
analysis page (one view for the page and its HTMX summary)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from markets.analysis.selectors import analysis_for
from markets.filters import CoinFilter
from markets.models import Coin
from markets.selectors import coin_get, coin_queryset, feed_status, market_overview, orderbook_for, trades_for
from markets.sources.base import SourceUnavailable
from markets.timeframes import TIMEFRAME_SECONDS
from watchlists.coin_scope import coins_scoped, watchlist_scope

PAGE_SIZES = (25, 50, 100)


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Overview cards and the coin table (``?watchlist=<id>``: the coins of one of the user's lists);
    an HTMX request for the table gets only the table."""
    watchlist, watchlist_error = watchlist_scope(user=request.user, value=request.GET.get("watchlist"))
    filters = CoinFilter(request.GET, queryset=coins_scoped(coin_queryset(), watchlist, watchlist_error))
    per_page = _page_size(request)
    page = Paginator(filters.qs if filters.is_valid() else Coin.objects.none(), per_page).get_page(
        request.GET.get("page")
    )
    context = {
        "filter": filters,
        "page": page,
        "per_page": per_page,
        "page_sizes": PAGE_SIZES,
        "query": _query(request),
        "watchlist": watchlist,
        "watchlist_error": watchlist_error,
    }
    if request.htmx and request.htmx.target == "coin-table":
        return render(request, "markets/_coin_table.html", context)
    return render(request, "markets/dashboard.html", {**context, "overview": market_overview()})


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "markets/_overview.html", {"overview": market_overview()})


@require_GET
def feed_delay(request: HttpRequest) -> HttpResponse:
    """The "data delayed N s" notice every page polls: empty while the market data is current."""
    status = feed_status()
    return render(request, "markets/_feed_status.html", {"feed": status, "behind": status["status"] != "ok"})


@require_GET
def coin_detail(request: HttpRequest, symbol: str) -> HttpResponse:
    coin = _coin_or_404(symbol)
    timeframe = request.GET.get("timeframe", "1m")
    if timeframe not in TIMEFRAME_SECONDS:
        timeframe = "1m"
    return render(
        request, "markets/coin_detail.html", {"coin": coin, "timeframe": timeframe, "timeframes": TIMEFRAME_SECONDS}
    )


@require_GET
def coin_analysis(request: HttpRequest, symbol: str) -> HttpResponse:
    """Chart with indicators, levels and patterns beside the technical summary; an HTMX request for
    the summary (every few seconds, and on a timeframe switch) gets only the summary."""
    coin = _coin_or_404(symbol)
    timeframe = request.GET.get("timeframe", "1h")
    if timeframe not in TIMEFRAME_SECONDS:
        timeframe = "1h"
    context = {"coin": coin, "timeframe": timeframe, "analysis": analysis_for(coin=coin, timeframe=timeframe)}
    if request.htmx and request.htmx.target == "analysis-summary":
        return render(request, "markets/_analysis_summary.html", context)
    return render(request, "markets/analysis.html", {**context, "timeframes": TIMEFRAME_SECONDS})


@require_GET
def analysis_home(request: HttpRequest) -> HttpResponse:
    """The menu's Analysis entry: the analysis page of the top-ranked coin."""
    coin = coin_queryset().only("symbol").first()
    if coin is None:
        return redirect("markets:dashboard")
    return redirect("markets:coin-analysis", symbol=coin.symbol)


@require_GET
def coin_orderbook(request: HttpRequest, symbol: str) -> HttpResponse:
    coin = _coin_or_404(symbol)
    try:
        book, error = orderbook_for(symbol=coin.symbol, depth=15), None
    except SourceUnavailable as exc:
        book, error = None, str(exc)
    if book:
        most = max([q for _, q in book["bids"] + book["asks"]] or [1])
        book["rows"] = {side: [(p, q, q / most * 100) for p, q in book[side]] for side in ("bids", "asks")}
        book["spread"] = book["asks"][0][0] - book["bids"][0][0]
        book["spread_pct"] = book["spread"] / book["asks"][0][0] * 100
    return render(request, "markets/_orderbook.html", {"coin": coin, "book": book, "error": error})


@require_GET
def coin_trades(request: HttpRequest, symbol: str) -> HttpResponse:
    coin = _coin_or_404(symbol)
    try:
        trades, error = trades_for(symbol=coin.symbol, limit=25), None
    except SourceUnavailable as exc:
        trades, error = [], str(exc)
    return render(request, "markets/_trades.html", {"coin": coin, "trades": trades, "error": error})


def _coin_or_404(symbol: str) -> Coin:
    try:
        return coin_get(symbol=symbol)
    except Coin.DoesNotExist:
        raise Http404(f"No coin named {symbol.upper()}") from None


def _page_size(request: HttpRequest) -> int:
    try:
        size = int(request.GET.get("per_page", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def _query(request: HttpRequest) -> str:
    """The current filters and ordering as a query string, without the page number."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
