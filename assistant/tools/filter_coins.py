"""``filter_coins``: the screener (the selector behind GET /api/screener: RSI, chart patterns, 24h volume on a
timeframe), narrowed by price, 24h change and one of the user's watchlists."""

from __future__ import annotations

from assistant.tools.arguments import ReadOnly, arguments_check, coin_link, rounded, watchlist_named
from assistant.tools.base import ToolError, ToolOutcome
from assistant.tools.schemas import FILTER_COINS
from markets.analysis.patterns import CONFIDENCE_THRESHOLD, PATTERN_KINDS
from markets.analysis.selectors import coins_screen
from markets.selectors import coin_queryset
from watchlists.selectors import watchlist_items

DEFAULT_LIMIT = 20
LINKS = 10  # coin links on the tool card: the first rows'


class FilterCoins(ReadOnly):
    name = "filter_coins"
    description = (
        "Screen the market: coins whose latest RSI, live chart patterns, 24h volume, price and 24h change "
        "match, by rank; optionally only those on one of the user's watchlists. Answers rows with symbol, "
        "price, change24h (%), volume24h (USDT), rsi, verdict and patterns with their confidence."
    )
    parameters = FILTER_COINS

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        args = arguments_check(arguments, FILTER_COINS)
        _bounds_check(args)
        timeframe = args.get("timeframe", "1h")
        rows = coins_screen(
            timeframe=timeframe,
            rsi_below=args.get("rsi_below"),
            rsi_above=args.get("rsi_above"),
            pattern=args.get("pattern"),
            min_confidence=args.get("min_confidence", CONFIDENCE_THRESHOLD),
            min_volume=args.get("min_volume"),
        )
        rows = _narrowed(rows, args, user=user)
        limit = args.get("limit", DEFAULT_LIMIT)
        shown_rows = [_row(row) for row in rows[:limit]]
        result = {"timeframe": timeframe, "count": len(rows), "shown": len(shown_rows), "rows": shown_rows}
        return ToolOutcome(result=result, links=[coin_link(row["symbol"]) for row in shown_rows[:LINKS]])


def _bounds_check(args: dict) -> None:
    """What the schema cannot say: a known pattern, and lower bounds under upper ones."""
    pattern = args.get("pattern")
    if pattern is not None and pattern not in PATTERN_KINDS:
        raise ToolError(f"pattern: unknown pattern {pattern[:40]!r}; allowed: {', '.join(PATTERN_KINDS)}.")
    for low, high in (("rsi_above", "rsi_below"), ("min_price", "max_price"), ("min_change", "max_change")):
        if args.get(low) is not None and args.get(high) is not None and args[low] > args[high]:
            raise ToolError(f"{low}: must not be more than {high} ({args[high]:g}).")
    if args.get("rsi_above") is not None and args.get("rsi_above") == args.get("rsi_below"):
        raise ToolError(f"rsi_above: must be less than rsi_below ({args['rsi_below']:g}).")


def _narrowed(rows: list[dict], args: dict, *, user) -> list[dict]:
    """The screener's rows within the price and change bounds, and on the watchlist when one is named."""
    if "watchlist" in args:
        watchlist = watchlist_named(user=user, name=args["watchlist"])
        on_list = {item["symbol"] for item in watchlist_items(watchlist=watchlist)}
        rows = [row for row in rows if row["symbol"] in on_list]
    if "min_price" in args or "max_price" in args:
        # Coins without bars have no analysed price: their listed price stands in.
        listed = dict(coin_queryset().values_list("symbol", "price"))
        for row in rows:
            row["price"] = row["price"] if row["price"] is not None else listed.get(row["symbol"])
        rows = [row for row in rows if row["price"] is not None and _within(row["price"], args, "price")]
    return [row for row in rows if _within(row["change24h"], args, "change")]


def _within(value: float, args: dict, name: str) -> bool:
    low, high = args.get(f"min_{name}"), args.get(f"max_{name}")
    return (low is None or value >= low) and (high is None or value <= high)


def _row(row: dict) -> dict:
    out = {
        "symbol": row["symbol"],
        "name": row["name"],
        "price": rounded(row["price"]),
        "change24h": rounded(row["change24h"], 4),
        "volume24h": rounded(row["volume24h"], 4),
        "rsi": rounded(row["rsi"], 4),
        "verdict": row["verdict"],
    }
    if row["patterns"]:
        out["patterns"] = [
            {"kind": p["kind"], "direction": p["direction"], "confidence": rounded(p["confidence"], 3)}
            for p in row["patterns"]
        ]
    return out
