"""Screener requests → ``filter_coins`` arguments: "show coins with RSI below 30 on 1h", "which coins
under $1 are oversold on the 4h with a double bottom?", "coins up more than 5% today with volume over 10M".

Each filter takes its words out of the clause, in an order where the more specific reading goes first
(RSI before prices, volume before timeframes: "10M" of volume is not a timeframe).
"""

from __future__ import annotations

import re

from assistant.builtin.text import NUMBER, number, take, timeframe_take
from markets.analysis.patterns import PATTERN_KINDS

ABOVE = r"(?:above|over|more than|greater than|higher than|at least|>=?|>)"
BELOW = r"(?:below|under|less than|lower than|at most|cheaper than|<=?|<)"
RSI_LOW, RSI_HIGH = 30, 70

RSI_BETWEEN_RE = re.compile(rf"\brsi\s*(?:\(\d+\))?\s*(?:is\s+)?between\s+({NUMBER})\s*(?:and|to|-)\s*({NUMBER})")
RSI_RE = re.compile(rf"\brsi\s*(?:\(\d+\))?\s*(?:is\s+|of\s+)?({ABOVE}|{BELOW})\s*({NUMBER})")
VOLUME_RE = re.compile(rf"\b(?:24h\s+)?volume\s*(?:of\s+|is\s+)?({ABOVE}|{BELOW})?\s*({NUMBER})")
CHANGE_RE = re.compile(
    rf"\b(up|gain(?:ed|ing)?|rose|risen|rising|pumped|pumping|increased|down|dropped|fell|fallen|falling|dumped|"
    rf"lost|losing)\s+(?:by\s+)?(?:{ABOVE}\s*)?({NUMBER})\s*%"
)
CHANGE_BOUND_RE = re.compile(rf"\b(?:24h\s+)?change\s*(?:of\s+|is\s+)?({ABOVE}|{BELOW})\s*([+-]?{NUMBER})\s*%?")
PRICE_BETWEEN_RE = re.compile(rf"\bbetween\s+(\$\s?{NUMBER}|{NUMBER}\s?\$?)\s*(?:and|to|-)\s*(\$?\s?{NUMBER})")
DOLLARS = rf"\$\s?{NUMBER}|{NUMBER}\s?(?:\$|dollars?\b|usdt?\b)"
PRICE_RE = re.compile(rf"(?:\bpriced?\s*(?:is\s+)?)?({ABOVE}|{BELOW})\s*({DOLLARS})")
PRICED_RE = re.compile(rf"\bpriced?\s*(?:is\s+)?({ABOVE}|{BELOW})\s*({NUMBER})")
CONFIDENCE_RE = re.compile(rf"\bconfidence\s*(?:of\s+|is\s+)?(?:{ABOVE}\s*)?({NUMBER})\s*(%)?")
LIMIT_RE = re.compile(r"\b(?:top|first|best|just|only)\s+(\d{1,3})\b|\b(\d{1,3})\s+coins\b")
WATCHLIST_RE = re.compile(r"\b(?:on|in|from)\s+my\s+(?:([\w-]+)\s+)?(?:watch\s?list|list)\b")


def _pattern_re(kind: str) -> re.Pattern:
    """ "double_bottom" → double bottom / double-bottom / double_bottoms; "and" also as "&"."""
    parts = [r"(?:and|&|n)" if word == "and" else word for word in kind.split("_")]
    return re.compile(r"\b" + r"[\s_-]*".join(parts) + r"s?\b")


PATTERN_RES = [(kind, _pattern_re(kind)) for kind in sorted(PATTERN_KINDS, key=len, reverse=True)]
SCREEN_WORDS_RE = re.compile(r"\b(?:coins|tokens|which|screen|screener|scan|gainers|losers|movers|market)\b")


def screen_arguments(text: str, *, watchlist_name: str | None = None) -> dict:
    """The ``filter_coins`` arguments a clause states (lower-case ``text``); {} when it states none."""
    args: dict = {}
    for read in (_rsi, _volume, _change, _price, _pattern, _confidence, _limit):
        text = read(text, args)
    found, text = timeframe_take(text)
    if found is not None:
        args["timeframe"] = found
    watchlist = WATCHLIST_RE.search(text)
    if watchlist and (watchlist_name or watchlist.group(1)):
        args["watchlist"] = watchlist_name or watchlist.group(1)
    return args


def looks_like_screen(text: str) -> bool:
    """Whether a clause asks about the market rather than one coin ("which coins…", "top gainers"); a
    clause without these words that names a coin asks about that coin ("is BTC oversold?")."""
    return SCREEN_WORDS_RE.search(text) is not None


def _rsi(text: str, args: dict) -> str:
    found, text = take(RSI_BETWEEN_RE, text)
    if found:
        low, high = sorted([number(found.group(1)), number(found.group(2))])
        args.update(rsi_above=low, rsi_below=high)
        return text
    while (found := RSI_RE.search(text)) is not None:
        args["rsi_below" if re.fullmatch(BELOW, found.group(1)) else "rsi_above"] = number(found.group(2))
        text = text[: found.start()] + " " + text[found.end() :]
    if "rsi_below" not in args and re.search(r"\boversold\b", text):
        args["rsi_below"] = RSI_LOW
    if "rsi_above" not in args and re.search(r"\boverbought\b", text):
        args["rsi_above"] = RSI_HIGH
    return text


def _volume(text: str, args: dict) -> str:
    found, text = take(VOLUME_RE, text)
    # The screener has a lower volume bound only: "volume under 1M" is left unread.
    if found and not (found.group(1) and re.fullmatch(BELOW, found.group(1))):
        args["min_volume"] = number(found.group(2))
    return text


def _change(text: str, args: dict) -> str:
    found, text = take(CHANGE_RE, text)
    if found:
        down = found.group(1).startswith(("down", "drop", "fell", "fall", "dump", "los"))
        args["max_change" if down else "min_change"] = -number(found.group(2)) if down else number(found.group(2))
    found, text = take(CHANGE_BOUND_RE, text)
    if found:
        value = number(found.group(2)) * (-1 if found.group(2).lstrip().startswith("-") else 1)
        args["max_change" if re.fullmatch(BELOW, found.group(1)) else "min_change"] = value
    if "min_change" not in args and re.search(r"\bgainers\b", text):
        args["min_change"] = 0
    if "max_change" not in args and re.search(r"\blosers\b", text):
        args["max_change"] = 0
    return text


def _price(text: str, args: dict) -> str:
    found, text = take(PRICE_BETWEEN_RE, text)
    if found:
        low, high = sorted([number(found.group(1)), number(found.group(2))])
        args.update(min_price=low, max_price=high)
        return text
    for pattern in (PRICE_RE, PRICED_RE):
        while (found := pattern.search(text)) is not None:
            args["max_price" if re.fullmatch(BELOW, found.group(1)) else "min_price"] = number(found.group(2))
            text = text[: found.start()] + " " + text[found.end() :]
    return text


def _pattern(text: str, args: dict) -> str:
    kind, text = pattern_in(text)
    if kind:
        args["pattern"] = kind
    return text


def pattern_in(text: str) -> tuple[str | None, str]:
    """The chart pattern a clause names ("double bottom", "head & shoulders") and the text without it."""
    for kind, pattern in PATTERN_RES:
        found, rest = take(pattern, text)
        if found:
            return kind, rest
    return None, text


def _confidence(text: str, args: dict) -> str:
    found, text = take(CONFIDENCE_RE, text)
    if found:
        value = number(found.group(1))
        value = value / 100 if found.group(2) or value > 1 else value
        if 0 <= value <= 1:
            args["min_confidence"] = value
    return text


def _limit(text: str, args: dict) -> str:
    found, text = take(LIMIT_RE, text)
    if found:
        args["limit"] = max(1, min(50, int(found.group(1) or found.group(2))))
    return text
