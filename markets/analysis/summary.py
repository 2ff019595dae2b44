"""The technical summary: each indicator's signal with its reason in words, an overall verdict,
and alert suggestions a trader can act on.

Signals follow the usual readings: RSI and the stochastic by their overbought/oversold bands,
MACD by its side of the signal line, price against each moving average and the Bollinger bands,
recent patterns by their direction. ATR and volume describe the market and do not vote.
"""

from __future__ import annotations

from markets.analysis.patterns import CONFIDENCE_THRESHOLD as PATTERN_MIN_CONFIDENCE
from markets.templatetags.market_format import price as price_text

RSI_HIGH, RSI_LOW = 70, 30
STOCH_HIGH, STOCH_LOW = 80, 20
VERDICTS = ((0.5, "strong_buy"), (0.1, "buy"), (-0.1, "neutral"), (-0.5, "sell"))  # else strong_sell


def _signal(indicator: str, signal: str, reason: str, *, votes: bool = True) -> dict:
    return {"indicator": indicator, "signal": signal, "reason": reason, "votes": votes}


def _rsi(value: float) -> dict:
    if value >= RSI_HIGH:
        return _signal("rsi", "sell", f"RSI {value:.1f} is above {RSI_HIGH}: overbought")
    if value <= RSI_LOW:
        return _signal("rsi", "buy", f"RSI {value:.1f} is below {RSI_LOW}: oversold")
    return _signal("rsi", "neutral", f"RSI {value:.1f} is between {RSI_LOW} and {RSI_HIGH}")


def _macd(value: dict) -> dict:
    macd, line = value["macd"], value["signal"]
    if macd > line:
        return _signal("macd", "buy", f"MACD {macd:.4g} is above its signal line {line:.4g}")
    if macd < line:
        return _signal("macd", "sell", f"MACD {macd:.4g} is below its signal line {line:.4g}")
    return _signal("macd", "neutral", "MACD is on its signal line")


def _bbands(value: dict, price: float) -> dict:
    if price > value["upper"]:
        return _signal("bbands", "sell", f"Price is above the upper Bollinger band {price_text(value['upper'])}")
    if price < value["lower"]:
        return _signal("bbands", "buy", f"Price is below the lower Bollinger band {price_text(value['lower'])}")
    band = f"{price_text(value['lower'])} to {price_text(value['upper'])}"
    return _signal("bbands", "neutral", f"Price is inside the Bollinger bands, {band}")


def _average(name: str, value: float, price: float) -> dict:
    label = name.replace("_", " ").upper()
    if price > value:
        return _signal(name, "buy", f"Price is above {label} {price_text(value)}")
    if price < value:
        return _signal(name, "sell", f"Price is below {label} {price_text(value)}")
    return _signal(name, "neutral", f"Price is on {label}")


def _stoch(value: dict) -> dict:
    k = value["k"]
    if k >= STOCH_HIGH:
        return _signal("stoch", "sell", f"Stochastic %K {k:.1f} is above {STOCH_HIGH}: overbought")
    if k <= STOCH_LOW:
        return _signal("stoch", "buy", f"Stochastic %K {k:.1f} is below {STOCH_LOW}: oversold")
    return _signal("stoch", "neutral", f"Stochastic %K {k:.1f} is between {STOCH_LOW} and {STOCH_HIGH}")


def _atr(value: float, price: float) -> dict:
    share = f" ({value / price * 100:.2f}% of the price)" if price else ""
    return _signal("atr", "neutral", f"A bar ranges {price_text(value)} on average{share}", votes=False)


def _volume(value: float, volume: float, forming: bool) -> dict:
    bar = "This bar's volume so far" if forming else "The last bar's volume"
    ratio = f"{_share(volume / value)} times" if value else "not comparable to"
    return _signal("volume_sma", "neutral", f"{bar} is {ratio} its average", votes=False)


def indicator_signals(*, readings: dict[str, dict], price: float, volume: float, forming: bool) -> list[dict]:
    """A signal per indicator; one without a value is neutral, does not vote, and says why."""
    signals = []
    for name, reading in readings.items():
        value = reading["value"]
        if value is None:
            signals.append(_signal(name, "neutral", f"No value: {reading['reason']}", votes=False))
        elif name == "rsi":
            signals.append(_rsi(value))
        elif name == "macd":
            signals.append(_macd(value))
        elif name == "bbands":
            signals.append(_bbands(value, price))
        elif name == "stoch":
            signals.append(_stoch(value))
        elif name == "atr":
            signals.append(_atr(value, price))
        elif name == "volume_sma":
            signals.append(_volume(value, volume, forming))
        else:
            signals.append(_average(name, value, price))
    return signals


def pattern_signals(*, patterns: list[dict]) -> list[dict]:
    """A signal per confident pattern: bullish ones buy, bearish ones sell."""
    signals = []
    for p in patterns:
        if p["confidence"] < PATTERN_MIN_CONFIDENCE:
            continue
        signal = {"bullish": "buy", "bearish": "sell"}.get(p["direction"], "neutral")
        reason = (
            f"{_pattern_name(p)} ({p['confidence']:.0%} confidence): breakout {price_text(p['breakout'])}, "
            f"target {price_text(p['target'])}"
        )
        signals.append(_signal(p["kind"], signal, reason, votes=signal != "neutral"))
    return signals


def verdict_of(*, signals: list[dict]) -> dict:
    """The overall verdict from the voting signals: (buys - sells) / votes, in five steps."""
    voting = [s["signal"] for s in signals if s["votes"]]
    counts = {kind: voting.count(kind) for kind in ("buy", "sell", "neutral")}
    score = (counts["buy"] - counts["sell"]) / len(voting) if voting else 0.0
    verdict = next((name for floor, name in VERDICTS if score >= floor), "strong_sell")
    return {"verdict": verdict, "score": round(score, 4), **counts}


def _share(number: float) -> str:
    """A ratio or percentage with one decimal, two when it is under 0.1 (so that it does not read 0.0)."""
    return f"{number:.2f}" if number < 0.1 else f"{number:.1f}"


def _pattern_name(pattern: dict) -> str:
    return pattern["kind"].replace("_", " ").capitalize()


# --- alert suggestions -----------------------------------------------------------------------


def _suggestion(text: str, indicator: str, operator: str, value: float, timeframe: str) -> dict:
    """Words for the trader, and the condition an alert would watch once alerts exist."""
    return {
        "text": text,
        "condition": {"indicator": indicator, "operator": operator, "value": value, "timeframe": timeframe},
    }


def _rsi_suggestion(rsi: float, timeframe: str) -> dict:
    if rsi >= RSI_HIGH:
        text = f"RSI is {rsi:.0f}: be told when it falls back below {RSI_HIGH}?"
        return _suggestion(text, "rsi", "crosses_below", RSI_HIGH, timeframe)
    if rsi <= RSI_LOW:
        text = f"RSI is {rsi:.0f}: be told when it rises back above {RSI_LOW}?"
        return _suggestion(text, "rsi", "crosses_above", RSI_LOW, timeframe)
    if rsi >= 50:
        text = f"RSI is {rsi:.0f}: be told when it rises above {RSI_HIGH} (overbought)?"
        return _suggestion(text, "rsi", "crosses_above", RSI_HIGH, timeframe)
    text = f"RSI is {rsi:.0f}: be told when it falls below {RSI_LOW} (oversold)?"
    return _suggestion(text, "rsi", "crosses_below", RSI_LOW, timeframe)


def _level_suggestions(levels: dict[str, list[dict]], price: float, timeframe: str) -> list[dict]:
    found = []
    sides = (("resistance", "breaks above", "crosses_above"), ("support", "breaks below", "crosses_below"))
    for side, verb, operator in sides:
        if not levels[side]:
            continue
        level = levels[side][0]
        distance = _share(abs(level["price"] - price) / price * 100 if price else 0.0)
        where = "below" if side == "resistance" else "above"
        touches = f"{level['touches']} touch{'es' if level['touches'] != 1 else ''}"
        text = f"Price is {distance}% {where} {side} {price_text(level['price'])} ({touches}): be told when it {verb}?"
        found.append(_suggestion(text, "price", operator, level["price"], timeframe))
    return found


def _macd_suggestion(macd: dict, timeframe: str) -> dict:
    if macd["histogram"] >= 0:
        text = "MACD is above its signal line: be told when it crosses below?"
        return _suggestion(text, "macd_histogram", "crosses_below", 0.0, timeframe)
    text = "MACD is below its signal line: be told when it crosses above?"
    return _suggestion(text, "macd_histogram", "crosses_above", 0.0, timeframe)


def _pattern_suggestion(pattern: dict, timeframe: str) -> dict:
    upward = pattern["target"] >= pattern["breakout"]  # the measured move runs from the breakout to the target
    verb, operator = ("breaks above", "crosses_above") if upward else ("breaks below", "crosses_below")
    text = (
        f"{_pattern_name(pattern)}: be told when the price {verb} {price_text(pattern['breakout'])} "
        f"(target {price_text(pattern['target'])})?"
    )
    return _suggestion(text, "price", operator, pattern["breakout"], timeframe)


def alert_suggestions(
    *, readings: dict[str, dict], levels: dict[str, list[dict]], patterns: list[dict], price: float, timeframe: str
) -> list[dict]:
    """Alerts worth setting now, in words: RSI, the nearest levels, MACD, the most confident pattern."""
    found = []
    if readings["rsi"]["value"] is not None:
        found.append(_rsi_suggestion(readings["rsi"]["value"], timeframe))
    found += _level_suggestions(levels, price, timeframe)
    if readings["macd"]["value"] is not None:
        found.append(_macd_suggestion(readings["macd"]["value"], timeframe))
    confident = [p for p in patterns if p["confidence"] >= PATTERN_MIN_CONFIDENCE]
    if confident:
        found.append(_pattern_suggestion(max(confident, key=lambda p: p["confidence"]), timeframe))
    return found
