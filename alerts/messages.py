"""An alert's message template: ``{{symbol}} crossed {{level}} at {{price}}``.

Plain substitution from a fixed set of placeholders, never a template language that could reach
objects. An unknown placeholder is an error naming it when the alert is saved; at firing time every
placeholder has a value ("" for a reading the firing does not have).
"""

from __future__ import annotations

import re
from datetime import datetime

from alerts.conditions import ALL_OF, condition_words

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# What every firing knows.
FIRING_FIELDS = ("symbol", "price", "level", "condition", "timeframe", "time", "alert_id", "note")
# The readings a firing may carry (the engine's ``values``): indicators at the bar, or the move.
READINGS = (
    "rsi",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "sma_fast",
    "sma_slow",
    "close",
    "volume",
    "volume_mean",
    "change",
    "pattern",
    "confidence",
    "low",
    "high",
)
PLACEHOLDERS = (*FIRING_FIELDS, *READINGS)
DEFAULT_MESSAGE = "{{symbol}}: {{condition}} ({{timeframe}}) at {{price}}"


def message_unknown_placeholders(template: str) -> list[str]:
    """The placeholders in ``template`` that are not in PLACEHOLDERS, in order of appearance."""
    seen = []
    for name in PLACEHOLDER.findall(template):
        if name not in PLACEHOLDERS and name not in seen:
            seen.append(name)
    return seen


def message_render(template: str, values: dict[str, object]) -> str:
    """``template`` (DEFAULT_MESSAGE when empty) with each placeholder replaced by its value."""

    def value(match: re.Match) -> str:
        found = values.get(match.group(1))
        return "" if found is None else _text(found)

    return PLACEHOLDER.sub(value, template or DEFAULT_MESSAGE)


def message_placeholders(alert: dict, *, alert_id: int, price: float, values: dict, at: datetime) -> dict:
    """The placeholders of one firing of ``alert`` (its ``condition``, ``coin__symbol``,
    ``timeframe``, ``note`` and, when known, ``words``): the condition's levels, the readings, the rest.
    Used when the firing is stored, and again when a delivery renders a webhook's body."""
    condition = alert["condition"]
    terms = condition["conditions"] if condition["kind"] == ALL_OF else [condition]
    params = {k: v for term in reversed(terms) for k, v in term.items() if k in ("level", "low", "high")}
    return {
        **params,
        **values,
        "symbol": alert["coin__symbol"],
        "price": price,
        "condition": alert["words"] if "words" in alert else condition_words(condition),
        "timeframe": alert["timeframe"],
        "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "alert_id": alert_id,
        "note": alert["note"],
    }


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.8g}" if abs(value) < 1e15 else f"{value:.6e}"
    return str(value)
