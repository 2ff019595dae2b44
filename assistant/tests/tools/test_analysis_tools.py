"""get_coin_analysis and analyze_pattern: the analysis and the patterns GET /api/coins/{symbol}/analysis and
/patterns answer, compacted, with the coin's links."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from assistant.tests.tools.conftest import DOUBLE_BOTTOM, run
from assistant.tools import ToolError


def test_analysis_matches_the_api(user, market):
    api = APIClient().get("/api/coins/BTC/analysis", {"timeframe": "1h"}).json()
    result = run(user, "get_coin_analysis", symbol="btc", timeframe="1h").result
    assert result["symbol"] == "BTC" and result["timeframe"] == "1h"
    assert result["price"] == pytest.approx(api["price"], rel=1e-5)
    assert result["indicators"]["rsi"] == pytest.approx(api["indicators"]["rsi"]["value"], rel=1e-5)
    assert result["summary"]["verdict"] == api["summary"]["verdict"]
    assert result["summary"]["buy"] == api["summary"]["buy"] and result["closed_bars"] == api["closed_bars"]
    assert result["suggestions"] == [s["text"] for s in api["suggestions"]]
    assert set(result["levels"]) == set(api["levels"])


def test_analysis_links_the_coin_and_its_analysis_page(user, market):
    links = run(user, "get_coin_analysis", symbol="ETH").links
    assert links == [
        {"label": "ETH", "url": "/coins/ETH"},
        {"label": "ETH analysis", "url": "/coins/ETH/analysis"},
    ]


def test_analysis_without_history_says_why_values_are_missing(user, market):
    rsi = run(user, "get_coin_analysis", symbol="DOGE").result["indicators"]["rsi"]
    assert rsi["value"] is None and rsi["reason"]


def test_patterns_with_confidence_breakout_and_target(user, market):
    result = run(user, "analyze_pattern", symbol="BTC").result
    assert result["patterns"] == [
        {
            "kind": "double_bottom",
            "direction": "bullish",
            "confidence": 0.8,
            "start_time": DOUBLE_BOTTOM.start_time,
            "end_time": DOUBLE_BOTTOM.end_time,
            "breakout": 102.0,
            "target": 109.0,
        }
    ]
    api = APIClient().get("/api/coins/BTC/patterns", {"min_confidence": 0.1}).json()["patterns"]
    loose = run(user, "analyze_pattern", symbol="BTC", min_confidence=0.1).result["patterns"]
    assert [p["kind"] for p in loose] == [p["kind"] for p in api] == ["double_bottom", "symmetrical_triangle"]


def test_no_patterns_in_falling_bars(user, market):
    assert run(user, "analyze_pattern", symbol="ETH", timeframe="1h").result["patterns"] == []


@pytest.mark.parametrize("tool", ["get_coin_analysis", "analyze_pattern"])
def test_an_unknown_symbol_is_a_tool_error_naming_symbol(user, market, tool):
    with pytest.raises(ToolError) as refused:
        run(user, tool, symbol="NOPE")
    assert refused.value.message.startswith("symbol:") and "NOPE" in refused.value.message
