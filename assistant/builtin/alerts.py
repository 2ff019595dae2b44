"""Alert requests → an ``alerts.conditions`` condition: "when BTC crosses 100000" (crossing), "goes above
100k" (crossing_up), "drops below 90k" (crossing_down), "is above 3000" (price_above), "when RSI crosses
50" (rsi_crosses_above/below), "RSI above 70", "oversold", MACD and moving-average crosses, Bollinger
breaks, volume spikes, patterns, channels and moves of a percentage.

Readers are tried in order, the more specific first (an RSI level before a price level).
"""

from __future__ import annotations

import re

from assistant.builtin.screener import pattern_in
from assistant.builtin.text import NUMBER, number, take
from markets.analysis.patterns import PATTERN_KINDS

UP = r"(?:above|over|up(?:\s+(?:through|past|above|over))?|past)"
DOWN = r"(?:below|under|down(?:\s+(?:through|below|under))?)"
RSI_LOW, RSI_HIGH = 30, 70
MA_FAST, MA_SLOW = 50, 200
SPIKE_FACTOR, SPIKE_BARS = 3, 20

RSI_PREFIX = r"\brsi\s*(?:\(?(?P<length>\d{1,3})\)?\s+)?(?:is\s+|gets\s+|goes\s+|moves\s+)?"
RSI_CROSS_RE = re.compile(
    rf"{RSI_PREFIX}(?:crosses|crossing|cross|breaks|goes|moves)\s*(?P<side>{UP}|{DOWN})?\s*(?P<level>{NUMBER})"
)
RSI_LEVEL_RE = re.compile(rf"{RSI_PREFIX}(?P<side>{UP}|{DOWN}|higher than|lower than)\s*(?P<level>{NUMBER})")
CHANNEL_RE = re.compile(
    rf"\b(?P<verb>enter|enters|entering|exit|exits|exiting|leaves|leaving|breaks out of)\s+(?:the\s+|a\s+)?"
    rf"(?:channel|range)\s*(?:of\s+|between\s+|from\s+)?(?P<low>{NUMBER})\s*(?:and|to|-)\s*(?P<high>{NUMBER})"
)
MOVE_RE = re.compile(
    rf"\b(?P<side>up|rises|rallies|pumps|jumps|gains|down|drops|falls|dumps|loses|sinks)\s+(?:by\s+)?"
    rf"(?:more than\s+|over\s+)?(?P<percent>{NUMBER})\s*%(?:\s*(?:within|in)\s+(?P<bars>\d{{1,3}})\s*(?:bars|candles))?"
)
CROSS_UP_RE = re.compile(
    rf"\b(?:crosses|crossing|breaks|goes|rises|climbs|moves|jumps|pumps|gets|trades)\s+(?:back\s+)?{UP}\s*(?P<level>{NUMBER})"
    rf"|\b(?:rises|climbs|pumps|rallies)\s+to\s+(?P<level2>{NUMBER})"
)
CROSS_DOWN_RE = re.compile(
    rf"\b(?:crosses|crossing|breaks|goes|drops|falls|dips|sinks|dumps|moves|gets|trades)\s+(?:back\s+)?"
    rf"(?:{DOWN}|to|through)\s*(?P<level>{NUMBER})"
)
CROSS_RE = re.compile(rf"\b(?:crosses|crossing|cross|hits|reaches|touches|gets to|at)\s+(?P<level>{NUMBER})")
LEVEL_RE = re.compile(rf"\b(?P<side>above|over|higher than|below|under|lower than)\s+(?P<level>{NUMBER})")
FACTOR_RE = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:x|times)\b")


def condition_in(text: str, *, rsi_side: str | None = None) -> dict | None:
    """The condition a clause (lower-case, coin names taken out) states, or None. ``rsi_side`` "below"
    when the coins were screened oversold: "RSI crosses 50" then means crossing back above."""
    for read in (_rsi, _macd, _bollinger, _ma_cross, _volume_spike, _pattern, _channel, _move, _price):
        condition = read(text, rsi_side)
        if condition is not None:
            return condition
    return None


def _rsi(text: str, rsi_side: str | None) -> dict | None:
    found = RSI_CROSS_RE.search(text)
    if found:
        level, side = number(found.group("level")), found.group("side")
        upward = re.match(UP, side) is not None if side else (rsi_side == "below" or (rsi_side is None and level >= 50))
        return _with_length({"kind": "rsi_crosses_above" if upward else "rsi_crosses_below", "level": level}, found)
    found = RSI_LEVEL_RE.search(text)
    if found:
        upward = re.match(rf"{UP}|higher", found.group("side")) is not None
        return _with_length(
            {"kind": "rsi_above" if upward else "rsi_below", "level": number(found.group("level"))}, found
        )
    if re.search(r"\boversold\b", text):
        return {"kind": "rsi_below", "level": RSI_LOW}
    if re.search(r"\boverbought\b", text):
        return {"kind": "rsi_above", "level": RSI_HIGH}
    return None


def _with_length(condition: dict, found: re.Match) -> dict:
    if found.group("length"):
        condition["length"] = int(found.group("length"))
    return condition


def _macd(text: str, _side) -> dict | None:
    if not re.search(r"\bmacd\b", text):
        return None
    bearish = re.search(r"\b(?:bear\w*|down\w*|below|under|sell)\b", text) is not None
    return {"kind": "macd_cross_bearish" if bearish else "macd_cross_bullish"}


def _bollinger(text: str, _side) -> dict | None:
    if not re.search(r"\bbollinger|\bbb\b|\bbands?\b", text):
        return None
    lower = re.search(r"\b(?:lower|bottom|below|under|down)\b", text) is not None
    return {"kind": "bb_break_lower" if lower else "bb_break_upper"}


def _ma_cross(text: str, _side) -> dict | None:
    if re.search(r"\bgolden\s*cross", text):
        return {"kind": "ma_cross_golden", "fast": MA_FAST, "slow": MA_SLOW}
    if re.search(r"\bdeath\s*cross", text):
        return {"kind": "ma_cross_death", "fast": MA_FAST, "slow": MA_SLOW}
    return None


def _volume_spike(text: str, _side) -> dict | None:
    if not re.search(r"\bvolume\s+(?:spikes?|surges?|jumps?|explodes?)|\b(?:spike|surge|jump) in volume", text):
        return None
    factor = FACTOR_RE.search(text)
    return {"kind": "volume_spike", "factor": float(factor.group(1)) if factor else SPIKE_FACTOR, "bars": SPIKE_BARS}


def _pattern(text: str, _side) -> dict | None:
    kind, _ = pattern_in(text)
    if kind:
        return {"kind": "pattern_detected", "patterns": [kind]}
    if re.search(r"\b(?:a|any|new)\s+(?:chart\s+)?pattern", text):
        return {"kind": "pattern_detected", "patterns": list(PATTERN_KINDS)}
    return None


def _channel(text: str, _side) -> dict | None:
    found = CHANNEL_RE.search(text)
    if not found:
        return None
    low, high = sorted([number(found.group("low")), number(found.group("high"))])
    kind = "entering_channel" if found.group("verb").startswith("enter") else "exiting_channel"
    return {"kind": kind, "low": low, "high": high}


def _move(text: str, _side) -> dict | None:
    found = MOVE_RE.search(text)
    if not found:
        return None
    up = found.group("side") in {"up", "rises", "rallies", "pumps", "jumps", "gains"}
    bars = int(found.group("bars")) if found.group("bars") else 1
    return {"kind": "moving_up" if up else "moving_down", "percent": number(found.group("percent")), "bars": bars}


def _price(text: str, _side) -> dict | None:
    for pattern, kind in ((CROSS_UP_RE, "crossing_up"), (CROSS_DOWN_RE, "crossing_down"), (CROSS_RE, "crossing")):
        found = pattern.search(text)
        if found:
            return {"kind": kind, "level": number(found.group("level") or found.group("level2"))}
    found, _ = take(LEVEL_RE, text)
    if found:
        above = found.group("side") in {"above", "over", "higher than"}
        return {"kind": "price_above" if above else "price_below", "level": number(found.group("level"))}
    return None
