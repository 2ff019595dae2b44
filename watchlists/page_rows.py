"""A watchlist item as the page's table shows it: the selector's figures, its sparkline drawn, and the
prices its changes are measured from, which the page's script uses to recompute them as prices
arrive over /ws (the live messages carry the price and the 24h change only)."""

from __future__ import annotations

from watchlists.sparkline import sparkline_svg

SPARK_WIDTH, SPARK_HEIGHT = 100, 30


def item_rows(items: list[dict]) -> list[dict]:
    return [item_row(item) for item in items]


def item_row(item: dict) -> dict:
    """``item`` (from ``watchlist_items``) with ``spark`` (SVG), ``bases``: the price each change is
    measured from, as text for the page (``""`` when unknown), and ``levels``: its target and stop."""
    return {
        **item,
        "spark": sparkline_svg(item.get("sparkline") or [], width=SPARK_WIDTH, height=SPARK_HEIGHT),
        "bases": {
            "7d": _base(item["price"], item["change7d"]),
            "30d": _base(item["price"], item["change30d"]),
            "added": repr(float(item["added_price"])) if item["added_price"] else "",
        },
        # Each level's field, its alert's id, its name, its price.
        "levels": [
            ("target_price", item["target_alert"], "Target", item["target_price"]),
            ("stop_price", item["stop_alert"], "Stop", item["stop_price"]),
        ],
    }


def _base(price: float | None, change: float | None) -> str:
    """The price a change in percent was measured from: price / (1 + change / 100)."""
    if price is None or change is None or change <= -100:
        return ""
    return repr(price / (1 + change / 100))
