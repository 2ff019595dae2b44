"""Alert conditions: every kind, its parameters with their bounds and defaults, validation that names
the field, and the condition in words.

A condition is the JSON object the API takes (``{"kind": "crossing_up", "level": 101.5}``). Price kinds
are evaluated on every price update against the previous one; bar kinds only when a bar of the alert's
timeframe closes, on closed bars; ``all_of`` combines 2 to 5 of the others. ``condition_clean`` returns
the condition with every default filled in, which is what is stored and what the engine reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from markets.analysis.patterns import CONFIDENCE_THRESHOLD, PATTERN_KINDS

MAX_PRICE = 1e12  # above any quoted price, below float trouble
MAX_PERIOD = 500  # the longest indicator or look-back period, in bars
ALL_OF_SIZE = (2, 5)


class ConditionError(Exception):
    """Bad conditions: ``errors`` maps each field's path (``condition.level``) to what is allowed."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Param:
    """One parameter: a number (``integer`` for periods) within [minimum, maximum] (``above``: strictly
    greater than ``minimum``), or a list of pattern classes; ``default`` None when required."""

    kind: str  # "number", "integer" or "patterns"
    minimum: float = 0.0
    maximum: float = MAX_PRICE
    above: bool = True
    default: object = None

    def clean(self, value, path: str) -> object:
        if self.kind == "patterns":
            return _patterns(value, path)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ConditionError({path: [f"Must be {'a whole number' if self.kind == 'integer' else 'a number'}."]})
        if self.kind == "integer" and value != int(value):
            raise ConditionError({path: ["Must be a whole number."]})
        low_ok = value > self.minimum if self.above else value >= self.minimum
        if not low_ok or value > self.maximum:
            bound = "greater than" if self.above else "at least"
            raise ConditionError({path: [f"Must be {bound} {self.minimum:g} and at most {self.maximum:g}."]})
        return int(value) if self.kind == "integer" else float(value)


def _patterns(value, path: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConditionError({path: [f"Must be a non-empty list of pattern classes: {', '.join(PATTERN_KINDS)}."]})
    unknown = sorted(set(value) - set(PATTERN_KINDS))
    if unknown:
        raise ConditionError(
            {path: [f"Unknown pattern classes {', '.join(unknown)}; allowed: {', '.join(PATTERN_KINDS)}."]}
        )
    return sorted(set(value))


PRICE_LEVEL = {"level": Param("number")}
CHANNEL = {"low": Param("number"), "high": Param("number")}
MOVING = {
    "percent": Param("number", maximum=10_000),
    "bars": Param("integer", maximum=MAX_PERIOD, above=False, minimum=1),
}
RSI = {"level": Param("number", maximum=100, above=True), "length": Param("integer", 1, MAX_PERIOD, default=14)}
MACD = {
    "fast": Param("integer", 1, MAX_PERIOD, default=12),
    "slow": Param("integer", 1, MAX_PERIOD, default=26),
    "signal": Param("integer", 1, MAX_PERIOD, default=9),
}
BBANDS = {"length": Param("integer", 1, MAX_PERIOD, default=20), "std": Param("number", maximum=10, default=2.0)}
MA_CROSS = {"fast": Param("integer", 0, MAX_PERIOD), "slow": Param("integer", 0, MAX_PERIOD)}
VOLUME_SPIKE = {"factor": Param("number", maximum=1000), "bars": Param("integer", 1, MAX_PERIOD, above=False)}
PATTERN = {
    "patterns": Param("patterns"),
    "min_confidence": Param("number", 0, 1, above=False, default=CONFIDENCE_THRESHOLD),
}

# Every kind: whether it is a price or a bar condition, and its parameters.
PRICE_KINDS = {
    "price_above": PRICE_LEVEL,
    "price_below": PRICE_LEVEL,
    "crossing_up": PRICE_LEVEL,
    "crossing_down": PRICE_LEVEL,
    "crossing": PRICE_LEVEL,
    "entering_channel": CHANNEL,
    "exiting_channel": CHANNEL,
    "moving_up": MOVING,
    "moving_down": MOVING,
}
BAR_KINDS = {
    "rsi_above": RSI,
    "rsi_below": RSI,
    "rsi_crosses_above": RSI,
    "rsi_crosses_below": RSI,
    "macd_cross_bullish": MACD,
    "macd_cross_bearish": MACD,
    "bb_break_upper": BBANDS,
    "bb_break_lower": BBANDS,
    "ma_cross_golden": MA_CROSS,
    "ma_cross_death": MA_CROSS,
    "volume_spike": VOLUME_SPIKE,
    "pattern_detected": PATTERN,
}
ALL_OF = "all_of"
KINDS = (*PRICE_KINDS, *BAR_KINDS, ALL_OF)


def condition_clean(data, *, path: str = "condition", nested: bool = False) -> dict:
    """The condition with its parameters checked and defaults filled in; raises ConditionError."""
    if not isinstance(data, dict):
        raise ConditionError({path: ['Must be an object with a "kind", e.g. {"kind": "crossing_up", "level": 100}.']})
    kind = data.get("kind")
    if kind == ALL_OF and not nested:
        return _all_of_clean(data, path)
    allowed = [k for k in KINDS if k != ALL_OF or not nested]
    # Not a string: a list or an object is no kind, and unhashable.
    if not isinstance(kind, str) or (kind not in PRICE_KINDS and kind not in BAR_KINDS):
        where = " inside all_of" if nested and kind == ALL_OF else ""
        raise ConditionError({f"{path}.kind": [f"Unknown kind {kind!r}{where}; allowed: {', '.join(allowed)}."]})
    spec = PRICE_KINDS.get(kind) or BAR_KINDS[kind]
    clean, errors = {"kind": kind}, {}
    unknown = sorted(set(data) - set(spec) - {"kind"})
    if unknown:
        errors[path] = [f"Unknown parameters {', '.join(unknown)} for {kind}; allowed: {', '.join(spec) or 'none'}."]
    for name, param in spec.items():
        try:
            clean[name] = _value(data, name, param, f"{path}.{name}")
        except ConditionError as error:
            errors.update(error.errors)
    if errors:
        raise ConditionError(errors)
    _check_order(clean, path)
    return clean


def _value(data: dict, name: str, param: Param, path: str):
    if data.get(name) is None:
        if param.default is None:
            raise ConditionError({path: ["This parameter is required."]})
        return param.default
    return param.clean(data[name], path)


def _check_order(clean: dict, path: str) -> None:
    """Rules between parameters: a channel's low under its high, a fast average shorter than the slow."""
    if "low" in clean and clean["low"] >= clean["high"]:
        raise ConditionError({f"{path}.low": ["Must be lower than high."]})
    if "fast" in clean and clean["fast"] >= clean["slow"]:
        raise ConditionError({f"{path}.fast": ["Must be shorter than slow."]})


def _all_of_clean(data: dict, path: str) -> dict:
    conditions = data.get("conditions")
    low, high = ALL_OF_SIZE
    if not isinstance(conditions, list) or not low <= len(conditions) <= high:
        raise ConditionError({f"{path}.conditions": [f"Must be a list of {low} to {high} conditions."]})
    unknown = sorted(set(data) - {"kind", "conditions"})
    errors = {path: [f"Unknown parameters {', '.join(unknown)} for all_of; allowed: conditions."]} if unknown else {}
    clean = []
    for index, item in enumerate(conditions):
        try:
            clean.append(condition_clean(item, path=f"{path}.conditions[{index}]", nested=True))
        except ConditionError as error:
            errors.update(error.errors)
    if errors:
        raise ConditionError(errors)
    return {"kind": ALL_OF, "conditions": clean}


def is_bar_condition(condition: dict) -> bool:
    """Whether the condition is evaluated at bar closes: a bar kind, or an all_of holding one."""
    if condition["kind"] == ALL_OF:
        return any(is_bar_condition(c) for c in condition["conditions"])
    return condition["kind"] in BAR_KINDS


def condition_words(condition: dict) -> str:
    """The condition as a trader would say it: "crosses up 101.5", "RSI(14) above 70"."""
    kind = condition["kind"]
    if kind == ALL_OF:
        return " and ".join(condition_words(c) for c in condition["conditions"])
    return WORDS[kind].format(**{k: _number(v) for k, v in condition.items()})


def _number(value) -> str:
    if isinstance(value, list):
        return ", ".join(v.replace("_", " ") for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


WORDS = {
    "price_above": "price above {level}",
    "price_below": "price below {level}",
    "crossing_up": "crosses up {level}",
    "crossing_down": "crosses down {level}",
    "crossing": "crosses {level}",
    "entering_channel": "enters the channel {low} to {high}",
    "exiting_channel": "exits the channel {low} to {high}",
    "moving_up": "up {percent}% within {bars} bars",
    "moving_down": "down {percent}% within {bars} bars",
    "rsi_above": "RSI({length}) above {level}",
    "rsi_below": "RSI({length}) below {level}",
    "rsi_crosses_above": "RSI({length}) crosses above {level}",
    "rsi_crosses_below": "RSI({length}) crosses below {level}",
    "macd_cross_bullish": "MACD({fast}, {slow}, {signal}) crosses above its signal",
    "macd_cross_bearish": "MACD({fast}, {slow}, {signal}) crosses below its signal",
    "bb_break_upper": "close breaks above the upper Bollinger band({length}, {std})",
    "bb_break_lower": "close breaks below the lower Bollinger band({length}, {std})",
    "ma_cross_golden": "SMA({fast}) crosses above SMA({slow})",
    "ma_cross_death": "SMA({fast}) crosses below SMA({slow})",
    "volume_spike": "volume at least {factor} times the mean of {bars} bars",
    "pattern_detected": "a new {patterns} pattern (confidence at least {min_confidence})",
}
