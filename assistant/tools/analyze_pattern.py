"""``analyze_pattern``: the chart-pattern detector's findings live at a coin's last closed bar, with their
confidence, breakout level and target (the selector behind GET /api/coins/{symbol}/patterns)."""

from __future__ import annotations

from django.urls import reverse

from assistant.tools.arguments import ReadOnly, arguments_check, coin_link, coin_of, rounded
from assistant.tools.base import ToolOutcome
from assistant.tools.schemas import ANALYZE_PATTERN
from markets.analysis.patterns import CONFIDENCE_THRESHOLD
from markets.analysis.selectors import patterns_for


class AnalyzePattern(ReadOnly):
    name = "analyze_pattern"
    description = (
        "Chart patterns (flags, head and shoulders, double tops and bottoms, pennants, triangles) live at a "
        "coin's last closed bar on a timeframe, with direction, confidence (0-1), breakout level and target. "
        f"min_confidence defaults to {CONFIDENCE_THRESHOLD}."
    )
    parameters = ANALYZE_PATTERN

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        args = arguments_check(arguments, ANALYZE_PATTERN)
        coin = coin_of(args["symbol"])
        timeframe = args.get("timeframe", "1h")
        min_confidence = args.get("min_confidence", CONFIDENCE_THRESHOLD)
        found = patterns_for(coin=coin, timeframe=timeframe, min_confidence=min_confidence)
        result = {
            "symbol": coin.symbol,
            "timeframe": timeframe,
            "min_confidence": min_confidence,
            "patterns": [_pattern(p) for p in found],
        }
        chart = {"label": f"{coin.symbol} chart", "url": reverse("markets:coin-analysis", args=[coin.symbol])}
        return ToolOutcome(result=result, links=[coin_link(coin.symbol), chart])


def _pattern(pattern: dict) -> dict:
    keys = ("kind", "direction", "confidence", "start_time", "end_time", "breakout", "target")
    return {key: rounded(pattern[key], 4 if key == "confidence" else 6) for key in keys}
