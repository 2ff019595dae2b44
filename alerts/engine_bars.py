"""Conditions at a bar's close, on closed bars only: bar kinds from the bar's readings, and price kinds
on the close against the previous close (``once_per_bar_close``, and inside an ``all_of`` holding a bar
kind). Each test returns whether it holds and the readings that made it hold.
"""

from __future__ import annotations

import math

import numpy as np

from alerts.conditions import ALL_OF, PRICE_KINDS
from alerts.engine_prices import PRICE_TESTS
from alerts.engine_table import term_params
from alerts.readings import BarReadings

Outcome = tuple[bool, dict]
NO = (False, {})


def close_holds(condition: dict, readings: BarReadings, reported: set[str] | None = None) -> Outcome:
    """Whether ``condition`` holds at the close of the last of ``readings``' bars, and its values."""
    if condition["kind"] == ALL_OF:
        values = {}
        for term in condition["conditions"]:
            held, found = close_holds(term, readings, reported)
            if not held:
                return NO
            values.update(found)
        return True, values
    if condition["kind"] in PRICE_KINDS:
        return _price(condition, readings)
    return BAR_TESTS[condition["kind"]](condition, readings, reported or set())


def _price(condition: dict, r: BarReadings) -> Outcome:
    a, b = term_params(condition)
    reference = r.close(int(b)) if condition["kind"].startswith("moving_") else r.close()
    held = PRICE_TESTS[condition["kind"]](np.float64(r.close(1)), np.float64(r.close()), a, b, reference)
    values = {"close": r.close()}
    if condition["kind"].startswith("moving_"):
        values["change"] = round((r.close() - reference) / reference * 100, 6) if reference else None
    return bool(held), values


def _crossed_up(before: float, after: float, level_before: float, level_after: float) -> bool:
    return before <= level_before and after > level_after  # NaN compares False: undefined never crosses


def _rsi(c: dict, r: BarReadings, reported) -> Outcome:
    name = f"rsi:{c['length']}"
    now, before, level = r.last(name), r.last(name, 1), c["level"]
    held = {
        "rsi_above": now > level,
        "rsi_below": now < level,
        "rsi_crosses_above": _crossed_up(before, now, level, level),
        "rsi_crosses_below": _crossed_up(-before, -now, -level, -level),
    }[c["kind"]]
    return held, {"rsi": now}


def _macd(c: dict, r: BarReadings, reported) -> Outcome:
    key = (c["fast"], c["slow"], c["signal"])
    line, signal = f"macd:{key}", f"macd_signal:{key}"
    m0, m1, s0, s1 = r.last(line, 1), r.last(line), r.last(signal, 1), r.last(signal)
    sign = 1 if c["kind"] == "macd_cross_bullish" else -1
    held = _crossed_up(sign * m0, sign * m1, sign * s0, sign * s1)
    return held, {"macd": m1, "macd_signal": s1, "macd_hist": m1 - s1}


def _bbands(c: dict, r: BarReadings, reported) -> Outcome:
    key = (c["length"], c["std"])
    upper = c["kind"] == "bb_break_upper"
    band = f"{'bb_upper' if upper else 'bb_lower'}:{key}"
    sign = 1 if upper else -1
    held = _crossed_up(sign * r.close(1), sign * r.close(), sign * r.last(band, 1), sign * r.last(band))
    values = {"close": r.close(), "bb_upper": r.last(f"bb_upper:{key}"), "bb_lower": r.last(f"bb_lower:{key}")}
    return held, {**values, "bb_middle": r.last(f"bb_middle:{key}")}


def _ma_cross(c: dict, r: BarReadings, reported) -> Outcome:
    fast, slow = f"sma_{c['fast']}", f"sma_{c['slow']}"
    sign = 1 if c["kind"] == "ma_cross_golden" else -1
    held = _crossed_up(sign * r.last(fast, 1), sign * r.last(fast), sign * r.last(slow, 1), sign * r.last(slow))
    return held, {"sma_fast": r.last(fast), "sma_slow": r.last(slow)}


def _volume_spike(c: dict, r: BarReadings, reported) -> Outcome:
    mean = r.volume_mean(c["bars"])
    held = math.isfinite(mean) and r.volume >= c["factor"] * mean
    return held, {"volume": r.volume, "volume_mean": mean}


def _pattern(c: dict, r: BarReadings, reported: set[str]) -> Outcome:
    for finding in reversed(r.patterns()):  # the detector orders them by end time, then confidence
        wanted = finding["kind"] in c["patterns"] and finding["confidence"] >= c["min_confidence"]
        if wanted and finding_key(finding) not in reported:
            return True, {
                "pattern": finding["kind"],
                "confidence": finding["confidence"],
                "finding": finding_key(finding),
            }
    return NO


def finding_key(finding: dict) -> str:
    """A finding's identity across bars: its kind and where it starts."""
    return f"{finding['kind']}:{finding['start_time']}"


BAR_TESTS = {
    "rsi_above": _rsi,
    "rsi_below": _rsi,
    "rsi_crosses_above": _rsi,
    "rsi_crosses_below": _rsi,
    "macd_cross_bullish": _macd,
    "macd_cross_bearish": _macd,
    "bb_break_upper": _bbands,
    "bb_break_lower": _bbands,
    "ma_cross_golden": _ma_cross,
    "ma_cross_death": _ma_cross,
    "volume_spike": _volume_spike,
    "pattern_detected": _pattern,
}
