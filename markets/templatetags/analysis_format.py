"""How the analysis page names indicators and patterns and shows their values."""

from __future__ import annotations

from django import template

from markets.templatetags.market_format import compact, price

register = template.Library()

NAMES = {
    "rsi": "RSI ({rsi_length})",
    "macd": "MACD ({macd_fast}, {macd_slow}, {macd_signal})",
    "bbands": "Bollinger ({bb_length}, {bb_std:g} sd)",
    "atr": "ATR ({atr_length})",
    "stoch": "Stochastic ({stoch_k}, {stoch_d}, {stoch_smooth})",
    "volume_sma": "Volume SMA ({volume_sma})",
}


@register.filter
def words(name: str) -> str:
    """``strong_buy`` → "Strong buy", ``double_bottom`` → "Double bottom"."""
    return name.replace("_", " ").capitalize()


@register.filter
def indicator_name(name: str, params: dict) -> str:
    """``sma_50`` → "SMA 50", ``rsi`` → "RSI (14)", a pattern kind → "Double bottom"."""
    if name in NAMES:
        return NAMES[name].format(**params)
    if name.startswith(("sma_", "ema_")):
        return name.replace("_", " ").upper()
    return words(name)


@register.filter
def reading_of(analysis: dict, name: str) -> str:
    """The value of indicator ``name`` in the units traders read it in; "—" when it has none."""
    found = analysis["indicators"].get(name)
    if found is None:
        return ""
    value = found["value"]
    if value is None:
        return "—"
    if name in ("rsi", "stoch"):
        return f"{value:.1f}" if name == "rsi" else f"{value['k']:.1f} / {value['d']:.1f}"
    if name == "macd":
        return f"hist {value['histogram']:+.4g}"  # the bars of its pane; the line and signal are in the reason
    if name == "bbands":
        return f"{price(value['lower'])} to {price(value['upper'])}"
    if name == "volume_sma":
        return compact(value)
    return price(value)
