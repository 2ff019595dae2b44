"""The small pieces of reading a command: amounts ("$1", "10M", "100,000"), timeframes ("4h", "on the
daily"), quoted names, and splitting a request into its clauses.

Parsers read a clause by *taking* what they understand out of it (``take``), so that a figure read as a
volume ("10M") is not read again as a timeframe ("10m" is none) or as a price.
"""

from __future__ import annotations

import re

# A number as traders write it, with an optional dollar sign and size suffix: $1, 0.5, 100,000, 10M, 2.5 bn.
NUMBER = r"\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?(?:k|mm|m|bn|b|thousand|million|billion)\b)?\s?\$?"
NUMBER_RE = re.compile(
    r"\$?\s?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)(?:\s?(k|mm|m|bn|b|thousand|million|billion)\b)?", re.IGNORECASE
)
SIZES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}

TIMEFRAME_RE = re.compile(
    r"\b(?:(?P<minutes>1|5|15)[\s-]?(?:m|min|mins|minute|minutes)"
    r"|(?P<hours>1|4)[\s-]?(?:h|hr|hrs|hour|hours)"
    r"|(?P<day>1[\s-]?(?:d|day))"
    r"|(?P<word>hourly|daily|4-?hourly))\b"
)
# The timeframe with the words around it, taken out of a clause whole: "on the 4h chart".
TIMEFRAME_PHRASE_RE = re.compile(
    rf"(?:\b(?:on|in|at|for|using)\s+(?:the\s+|a\s+)?)?(?:{TIMEFRAME_RE.pattern})(?:\s+(?:chart|timeframe|candles?|bars?))?"
)
TIMEFRAME_WORDS = {"hourly": "1h", "daily": "1d", "4hourly": "4h", "4-hourly": "4h"}

# A quote opens after a space and closes before a non-letter, so that "what's" and "BTC's" are no quotes.
OPEN_QUOTES, CLOSE_QUOTES = "'\"`\u2018\u201c", "'\"`\u2019\u201d"
QUOTED_RE = re.compile(rf"(?:(?<=\s)|^)[{OPEN_QUOTES}]([^{OPEN_QUOTES}{CLOSE_QUOTES}]{{1,60}})[{CLOSE_QUOTES}](?!\w)")

# Words that start a new command inside one message: "…with a double bottom? watch them and tell me…".
COMMAND_VERBS = (
    r"watch|add|put|save|track|alert|tell|notify|let|ping|remind|warn|export|download|show|list|find|"
    r"screen|analy[sz]e|check|look|give|create|set|how|what|which"
)
CLAUSE_SPLIT_RE = re.compile(
    rf"[.!?;\n]+(?=\s|$)|,?\s+(?:and then|and|then|also|plus)\s+(?=(?:{COMMAND_VERBS})\b)|,\s+(?=(?:{COMMAND_VERBS})\b)"
)


def number(text: str) -> int | float | None:
    """The first number in ``text`` with its size suffix applied (10M → 10000000); None without one."""
    found = NUMBER_RE.search(text)
    if not found:
        return None
    value = float(found.group(1).replace(",", "")) * SIZES.get((found.group(2) or "").lower(), 1)
    return int(value) if value.is_integer() else value


def take(pattern: re.Pattern, text: str) -> tuple[re.Match | None, str]:
    """The first match of ``pattern`` in ``text`` and the text with that match blanked out."""
    found = pattern.search(text)
    if not found:
        return None, text
    return found, f"{text[: found.start()]} {text[found.end() :]}"


def timeframe(text: str) -> str | None:
    """The candle timeframe named in ``text`` ("on the 4h", "15 min", "daily"), or None."""
    found = TIMEFRAME_RE.search(text.lower())
    if not found:
        return None
    if found.group("minutes"):
        return f"{found.group('minutes')}m"
    if found.group("hours"):
        return f"{found.group('hours')}h"
    if found.group("day"):
        return "1d"
    return TIMEFRAME_WORDS[found.group("word")]


def timeframe_take(text: str) -> tuple[str | None, str]:
    """The timeframe named in lower-case ``text`` and the text without its phrase ("on the 4h")."""
    found, rest = take(TIMEFRAME_PHRASE_RE, text)
    return (timeframe(found.group()) if found else None), rest


def quoted(text: str) -> tuple[str | None, str]:
    """The first quoted name ('alts') and the text without it."""
    found, rest = take(QUOTED_RE, text)
    return (found.group(1).strip() if found else None), rest


def clauses(text: str) -> list[str]:
    """The request's commands, in order: split at sentence ends and at "and"/"then" before a command verb."""
    parts = CLAUSE_SPLIT_RE.split(text.strip())
    return [part.strip(" ,") for part in parts if part and part.strip(" ,")]


def words(text: str) -> list[str]:
    """``text`` in word-sized chunks (each word with the spaces after it), which join back to ``text``."""
    return re.findall(r"\s*\S+\s*|\s+", text)
