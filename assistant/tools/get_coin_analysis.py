"""``get_coin_analysis``: a coin's indicators, support and resistance, technical summary and alert
suggestions on a timeframe (the selector behind GET /api/coins/{symbol}/analysis), compacted for the model."""

from __future__ import annotations

from django.urls import reverse

from assistant.tools.arguments import ReadOnly, arguments_check, coin_link, coin_of, rounded
from assistant.tools.base import ToolOutcome
from assistant.tools.schemas import GET_COIN_ANALYSIS
from markets.analysis.selectors import analysis_for

SIGNALS = 12  # of the summary's signals, the first ones: enough to explain the verdict


class GetCoinAnalysis(ReadOnly):
    name = "get_coin_analysis"
    description = (
        "Technical analysis of one coin on a timeframe: latest price, every indicator's value (RSI, MACD, "
        "Bollinger bands, moving averages, ATR, stochastic, volume), pivots, support and resistance levels, "
        "the buy/sell verdict with its signals, and alert suggestions."
    )
    parameters = GET_COIN_ANALYSIS

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        args = arguments_check(arguments, GET_COIN_ANALYSIS)
        coin = coin_of(args["symbol"])
        timeframe = args.get("timeframe", "1h")
        analysis = analysis_for(coin=coin, timeframe=timeframe)
        summary = analysis["summary"]
        result = {
            "symbol": coin.symbol,
            "timeframe": timeframe,
            "price": rounded(analysis["price"]),
            "time": analysis["time"],
            "closed_bars": analysis["closed_bars"],
            "indicators": {name: _reading(reading) for name, reading in analysis["indicators"].items()},
            "levels": rounded(analysis["levels"]),
            "summary": {
                **{key: rounded(summary[key], 3) for key in ("verdict", "score", "buy", "sell", "neutral")},
                "signals": [
                    {"indicator": s["indicator"], "signal": s["signal"], "reason": s["reason"]}
                    for s in summary["signals"][:SIGNALS]
                ],
            },
            "suggestions": [s["text"] for s in analysis["suggestions"]],
        }
        page = {"label": f"{coin.symbol} analysis", "url": reverse("markets:coin-analysis", args=[coin.symbol])}
        return ToolOutcome(result=result, links=[coin_link(coin.symbol), page])


def _reading(reading: dict):
    """A value, or why there is none (e.g. 'needs 201 closed bars')."""
    if reading["value"] is None:
        return {"value": None, "reason": reading.get("reason", "")}
    return rounded(reading["value"])
