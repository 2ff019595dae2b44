"""Number formats for market pages, shared by the templates and the feed's live fragments."""

import math
from datetime import UTC, datetime

from django import template

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
