"""The technical summary: each indicator's signal and reason, the verdict, alert suggestions."""

from __future__ import annotations

import pytest

from markets.analysis.summary import alert_suggestions, indicator_signals, pattern_signals, verdict_of

NO_LEVELS = {"support": [], "resistance": []}


def readings(**values) -> dict[str, dict]:
    base = {
        "rsi": {"value": 50.0},
        "macd": {"value": {"macd": 1.0, "signal": 1.0, "histogram": 0.0}},
        "bbands": {"value": {"upper": 110.0, "middle": 100.0, "lower": 90.0}},
        "sma_50": {"value": 100.0},
        "atr": {"value": 2.0},
        "stoch": {"value": {"k": 50.0, "d": 50.0}},
        "volume_sma": {"value": 10.0},
    }
    return {**base, **{name: {"value": value} for name, value in values.items()}}


def signal_of(name: str, price: float = 100.0, **values) -> dict:
    found = indicator_signals(readings=readings(**values), price=price, volume=20.0, forming=True)
    return next(s for s in found if s["indicator"] == name)


@pytest.mark.parametrize(
    ("rsi", "signal", "reason"),
    [
        (72.4, "sell", "RSI 72.4 is above 70: overbought"),
        (27.06, "buy", "RSI 27.1 is below 30: oversold"),
        (55.0, "neutral", "RSI 55.0 is between 30 and 70"),
    ],
)
def test_rsi_signal_follows_its_bands(rsi, signal, reason):
    assert signal_of("rsi", rsi=rsi) == {"indicator": "rsi", "signal": signal, "reason": reason, "votes": True}


def test_macd_above_its_signal_line_is_a_buy():
    found = signal_of("macd", macd={"macd": 2.5, "signal": 1.0, "histogram": 1.5})
    assert found["signal"] == "buy" and found["reason"] == "MACD 2.5 is above its signal line 1"


@pytest.mark.parametrize(("price", "signal"), [(111.0, "sell"), (89.0, "buy"), (100.0, "neutral")])
def test_price_against_the_bollinger_bands(price, signal):
    assert signal_of("bbands", price=price)["signal"] == signal


def test_price_above_a_moving_average_is_a_buy_and_says_which():
    found = signal_of("sma_50", price=101.0)
    assert found["signal"] == "buy" and found["reason"] == "Price is above SMA 50 100.00"
    assert signal_of("sma_50", price=99.0)["signal"] == "sell"


@pytest.mark.parametrize(("k", "signal"), [(85.0, "sell"), (15.0, "buy"), (50.0, "neutral")])
def test_stochastic_signal_follows_its_bands(k, signal):
    assert signal_of("stoch", stoch={"k": k, "d": 40.0})["signal"] == signal


def test_atr_and_volume_describe_without_voting():
    atr, volume = signal_of("atr"), signal_of("volume_sma")
    assert atr["votes"] is False and "2.00% of the price" in atr["reason"]
    assert volume["votes"] is False and volume["reason"] == "This bar's volume so far is 2.0 times its average"


def test_an_indicator_without_a_value_is_neutral_says_why_and_does_not_vote():
    values = readings()
    values["rsi"] = {"value": None, "reason": "needs 15 closed bars, have 3"}
    found = indicator_signals(readings=values, price=100.0, volume=1.0, forming=False)[0]
    assert found == {
        "indicator": "rsi",
        "signal": "neutral",
        "reason": "No value: needs 15 closed bars, have 3",
        "votes": False,
    }


@pytest.mark.parametrize(
    ("buy", "sell", "neutral", "verdict"),
    [(5, 0, 1, "strong_buy"), (3, 2, 1, "buy"), (2, 2, 2, "neutral"), (1, 3, 2, "sell"), (0, 4, 0, "strong_sell")],
)
def test_verdict_scores_buys_against_sells(buy, sell, neutral, verdict):
    signals = [
        {"signal": kind, "votes": True}
        for kind, n in (("buy", buy), ("sell", sell), ("neutral", neutral))
        for _ in range(n)
    ]
    signals.append({"signal": "sell", "votes": False})  # describes, does not count
    found = verdict_of(signals=signals)
    assert found["verdict"] == verdict
    assert (found["buy"], found["sell"], found["neutral"]) == (buy, sell, neutral)
    assert found["score"] == pytest.approx((buy - sell) / (buy + sell + neutral), abs=1e-4)


def test_no_votes_is_a_neutral_verdict():
    assert verdict_of(signals=[])["verdict"] == "neutral"


PATTERN = {
    "kind": "double_bottom", "direction": "bullish", "confidence": 0.8, "start_time": 0, "end_time": 1,
    "points": [], "breakout": 105.0, "target": 115.0,
}  # fmt: skip


def test_confident_patterns_vote_with_their_direction():
    weak = {**PATTERN, "confidence": 0.1}
    bearish = {**PATTERN, "kind": "double_top", "direction": "bearish", "breakout": 95.0, "target": 85.0}
    found = pattern_signals(patterns=[PATTERN, weak, bearish])
    assert [(s["indicator"], s["signal"]) for s in found] == [("double_bottom", "buy"), ("double_top", "sell")]
    assert found[0]["reason"] == "Double bottom (80% confidence): breakout 105.00, target 115.00"


def suggestion_texts(**kwargs) -> list[str]:
    options = {"readings": readings(), "levels": NO_LEVELS, "patterns": [], "price": 100.0, "timeframe": "1h"}
    return [s["text"] for s in alert_suggestions(**{**options, **kwargs})]


def test_overbought_rsi_suggests_an_alert_when_it_falls_back():
    found = alert_suggestions(readings=readings(rsi=72.2), levels=NO_LEVELS, patterns=[], price=100.0, timeframe="4h")
    assert found[0] == {
        "text": "RSI is 72: be told when it falls back below 70?",
        "condition": {"indicator": "rsi", "operator": "crosses_below", "value": 70, "timeframe": "4h"},
    }
    assert suggestion_texts(readings=readings(rsi=25.0))[0] == "RSI is 25: be told when it rises back above 30?"


def test_nearest_levels_suggest_breakout_alerts():
    levels = {
        "support": [{"price": 95.0, "touches": 3}],
        "resistance": [{"price": 102.0, "touches": 1}],
    }
    texts = suggestion_texts(levels=levels)
    assert "Price is 2.0% below resistance 102.00 (1 touch): be told when it breaks above?" in texts
    assert "Price is 5.0% above support 95.000 (3 touches): be told when it breaks below?" in texts


def test_a_pattern_suggests_an_alert_in_the_direction_of_its_target():
    bear_flag = {**PATTERN, "kind": "bear_flag", "direction": "bearish", "breakout": 98.0, "target": 90.0}
    texts = suggestion_texts(patterns=[bear_flag])
    assert texts[-1] == "Bear flag: be told when the price breaks below 98.000 (target 90.000)?"
    assert suggestion_texts(patterns=[PATTERN])[-1].startswith("Double bottom: be told when the price breaks above")


def test_a_level_very_near_the_price_is_not_called_zero_percent_away():
    levels = {"support": [], "resistance": [{"price": 100.04, "touches": 2}]}
    assert suggestion_texts(levels=levels)[1].startswith("Price is 0.04% below resistance 100.04 (2 touches)")
