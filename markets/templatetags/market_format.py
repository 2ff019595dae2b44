"""Number formats for market pages, shared by the templates and the live fragments pages get over /ws."""

import math
from datetime import UTC, datetime
from functools import lru_cache

from django import template
from django.utils.html import escape

register = template.Library()


@register.filter
def price(value: float | None) -> str:
    """A price with the decimals its size needs: 97,000.50 / 2.1234 / 0.0000095200."""
    if value is None or value <= 0:
        return "—"
    decimals = max(2, 4 - math.floor(math.log10(value)))
    return f"{value:,.{decimals}f}"


@register.filter
def compact(value: float | None) -> str:
    """A large amount in short form: 1.23B, 456.7M, 12.3K."""
    if value is None:
        return "—"
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.2f}{suffix}"
    return f"{value:.2f}"


@register.filter
def change(value: float | None) -> str:
    """A signed percentage: +1.23% / -0.45%."""
    if value is None:
        return "—"
    return f"{value:+.2f}%"


@register.filter
def sign_class(value: float | None) -> str:
    """CSS class for a signed figure."""
    if not value:
        return "flat"
    return "pos" if value > 0 else "neg"


def ticker_fragment(ticker: dict, direction: str) -> str:
    """A coin's live figures as HTMX out-of-band swaps: what pages are sent on each change (markets/live.py).

    Plain formatting, not a template: one is rendered per changed coin, thousands a second
    with a large universe, and a template costs six times as much.
    """
    s, change_24h = _escaped(ticker["symbol"]), ticker["change24h"]
    return (
        f'<span id="p-{s}" class="num price {direction}" hx-swap-oob="true">{price(ticker["price"])}</span>'
        f'<span id="c-{s}" class="num chg {sign_class(change_24h)}" hx-swap-oob="true">{change(change_24h)}</span>'
        f'<span id="h-{s}" class="num" hx-swap-oob="true">{price(ticker["high24h"])}</span>'
        f'<span id="l-{s}" class="num" hx-swap-oob="true">{price(ticker["low24h"])}</span>'
        f'<span id="v-{s}" class="num" hx-swap-oob="true">{compact(ticker["volume24h"])}</span>'
        f'<span id="m-{s}" class="num" hx-swap-oob="true">{compact(ticker.get("market_cap"))}</span>'
    )


@lru_cache(maxsize=16384)
def _escaped(symbol: str) -> str:
    return str(escape(symbol))


@register.simple_tag(takes_context=True)
def sorted_by(context, field: str) -> str:
    """The query string that orders the table by ``field``, flipping direction when it already is."""
    params = context["request"].GET.copy()
    current = params.get("ordering", "")
    descending_first = field not in ("rank", "symbol")
    if current == field:
        params["ordering"] = f"-{field}"
    elif current == f"-{field}":
        params["ordering"] = field
    else:
        params["ordering"] = f"-{field}" if descending_first else field
    params.pop("page", None)
    return params.urlencode()


@register.simple_tag(takes_context=True)
def sort_state(context, field: str) -> str:
    """'asc', 'desc' or '' for the column header's arrow."""
    current = context["request"].GET.get("ordering", "")
    return "asc" if current == field else "desc" if current == f"-{field}" else ""


@register.filter
def clock(ms: int | None) -> str:
    """Exchange time in milliseconds as HH:MM:SS UTC."""
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")
