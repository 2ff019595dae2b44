"""Markdown pieces for the built-in assistant's answers: escaped text, numbers, tables, links and the
screen's filters in words."""

from __future__ import annotations

import re

from django.urls import NoReverseMatch, reverse

from markets.templatetags.market_format import change, compact, price

MARKDOWN_SPECIAL_RE = re.compile(r"([\\`*_\[\]<>|#])")


def md(value) -> str:
    """Text from data (a coin's name, a watchlist's name, a tool's message) that stays text in Markdown."""
    return MARKDOWN_SPECIAL_RE.sub(r"\\\1", str(value)).replace("\n", " ")


def number_text(value) -> str:
    """A figure for a table cell: prices with their decimals, large amounts short, — when missing."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        return compact(value) if abs(value) >= 1e6 else f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    return md(value)


def price_text(value) -> str:
    return price(value) if isinstance(value, int | float) else "—"


def change_text(value) -> str:
    return change(value) if isinstance(value, int | float) else "—"


def volume_text(value) -> str:
    return compact(value) if isinstance(value, int | float) else "—"


def table(header: list[str], rows: list[list[str]], *, right: set[int] = frozenset()) -> str:
    """A Markdown table; the columns in ``right`` aligned right (figures)."""
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def coin_link(symbol: str) -> str:
    """The coin's symbol, linked to its page."""
    try:
        return f"[{md(symbol)}]({reverse('markets:coin', args=[symbol])})"
    except NoReverseMatch:
        return f"**{md(symbol)}**"


def link(label: str, url: str) -> str:
    """A link from a tool's result: relative or http(s) only, so that no javascript: URL is offered."""
    url = str(url)
    if not (url.startswith("/") or url.startswith(("https://", "http://"))) or url.startswith("//"):
        return md(label)
    return f"[{md(label)}]({url.replace(' ', '%20').replace(')', '%29')})"


def screen_words(args: dict) -> str:
    """The screen's filters as a trader would say them: "RSI below 30, price at most $1, on 4h"."""
    parts = []
    for key, text in (
        ("rsi_below", "RSI below {}"),
        ("rsi_above", "RSI above {}"),
        ("min_price", "price at least ${}"),
        ("max_price", "price at most ${}"),
        ("min_change", "24h change at least {}%"),
        ("max_change", "24h change at most {}%"),
        ("min_volume", "24h volume at least {}"),
        ("watchlist", "on your watchlist “{}”"),
    ):
        if key in args:
            parts.append(text.format(_figure(args[key])))
    if "pattern" in args:
        parts.append(f"a {md(str(args['pattern']).replace('_', ' '))} pattern")
    if "timeframe" in args:
        parts.append(f"on {md(args['timeframe'])}")
    return ", ".join(parts) or "no filter"


def _figure(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return compact(value) if abs(value) >= 1e6 else f"{value:g}"
    return md(value)
