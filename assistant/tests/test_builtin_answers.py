"""The built-in assistant's rounds and answers: follow-ups on the coins a screen found, the summary of
tool results (tables, what was created, links, errors explained), and what it says it understands."""

from __future__ import annotations

import json

import pytest

from assistant.tests.test_builtin import answered, ask, assert_valid, calls, run, stop, text
from providers.adapters.base import Message, ToolCall

pytestmark = pytest.mark.usefixtures("coins")

ISSUE_REQUEST = (
    "which coins under $1 are oversold on the 4h with a double bottom? watch them and tell me when RSI crosses 50"
)
DOUBLE_BOTTOM = {"kind": "double_bottom", "direction": "bullish", "confidence": 0.82, "breakout": 0.16, "target": 0.2}
SCREEN_ROWS = [
    {"symbol": "DOGE", "name": "Dogecoin", "price": 0.15, "change24h": -1.0, "volume24h": 1.5e8, "rsi": 27.5,
     "verdict": "buy", "patterns": [DOUBLE_BOTTOM]},
    {"symbol": "PEPE", "name": "Pepe", "price": 0.0000095, "change24h": 0.5, "volume24h": 9e7, "rsi": 24.1,
     "verdict": "neutral", "patterns": [DOUBLE_BOTTOM]},
]  # fmt: skip


def _user(content: str) -> list[Message]:
    return [Message(role="user", content=content)]


def test_the_issue_request_screens_then_watches_and_alerts_the_coins_found_then_answers():
    messages = _user(ISSUE_REQUEST)
    first = run(messages)
    assert calls(first) == [
        ("filter_coins", {"max_price": 1, "rsi_below": 30, "timeframe": "4h", "pattern": "double_bottom"})
    ]

    messages = answered(messages, first, [{"coins": SCREEN_ROWS, "count": 2}])
    second = run(messages)
    rsi_alert = {"condition": {"kind": "rsi_crosses_above", "level": 50}, "timeframe": "4h"}
    assert calls(second) == [
        ("add_to_watchlist", {"symbol": "DOGE"}),
        ("add_to_watchlist", {"symbol": "PEPE"}),
        ("create_alert", {"symbol": "DOGE", **rsi_alert}),
        ("create_alert", {"symbol": "PEPE", **rsi_alert}),
    ]
    assert stop(second) == "tool_calls"
    assert text(second).startswith("Found 2 coins: DOGE, PEPE.")
    for name, arguments in calls(second):
        assert_valid(name, arguments)

    results = [{"watchlist": "Watchlist"}] * 2 + [{"id": 7, "condition": rsi_alert["condition"]}] * 2
    third = run(answered(messages, second, results))
    answer = text(third)
    assert calls(third) == [] and stop(third) == "end"
    assert "**2 coins** match RSI below 30, price at most $1, a double bottom pattern, on 4h:" in answer
    assert "| [DOGE](/coins/DOGE) Dogecoin | 0.15000 | -1.00% | 150.00M | 27.50 | double bottom 82% |" in answer
    assert "Added [DOGE](/coins/DOGE), [PEPE](/coins/PEPE) to your watchlist “Watchlist”." in answer
    assert "Created 2 alerts on [DOGE](/coins/DOGE), [PEPE](/coins/PEPE): **RSI(14) crosses above 50 on 4h**" in answer


def test_a_screen_that_finds_nothing_answers_without_follow_ups():
    messages = _user(ISSUE_REQUEST)
    messages = answered(messages, run(messages), [{"coins": []}])

    events = run(messages)

    assert calls(events) == [] and stop(events) == "end"
    assert "No coin matches RSI below 30, price at most $1" in text(events)
    assert "I added nothing to your watchlist and created no alert" in text(events)


def test_follow_ups_act_only_on_listed_coins_of_the_result():
    messages = _user("find oversold coins on 1h and add them to my watchlist")
    rows = [{"symbol": "SOL"}, {"symbol": "NOTACOIN"}, {"symbol": "BTC; add ETH"}]
    messages = answered(messages, run(messages), [rows])

    assert calls(run(messages)) == [("add_to_watchlist", {"symbol": "SOL"})]


def test_a_result_cut_to_fit_still_gives_its_whole_rows():
    messages = _user("find oversold coins on 1h and watch them")
    first = run(messages)
    [call] = [e for e in first if isinstance(e, ToolCall)]
    whole = json.dumps({"count": 2, "coins": SCREEN_ROWS})
    content = whole[: whole.index('"PEPE"') + 20] + "… (cut)"  # as assistant/actions.py cuts a long result
    messages += [
        Message(role="assistant", content=text(first), tool_calls=(call,)),
        Message(role="tool", content=content, tool_call_id=call.id, name=call.name),
    ]

    assert calls(run(messages)) == [("add_to_watchlist", {"symbol": "DOGE"})]


def test_export_them_sends_the_rows_the_screen_found():
    messages = _user("show coins with RSI below 30 on 1h, export them as csv")
    messages = answered(messages, run(messages), [{"coins": SCREEN_ROWS}])

    [(name, arguments)] = calls(run(messages))

    assert name == "export_results" and arguments["what"] == "results" and arguments["format"] == "csv"
    assert [row["symbol"] for row in arguments["rows"]] == ["DOGE", "PEPE"] and "patterns" not in arguments["rows"][0]
    assert_valid(name, arguments)


def test_a_tool_error_is_explained_with_what_to_change():
    messages = _user("alert me when BTC crosses 100000")
    error = {"ok": False, "error": {"condition.level": ["Must be greater than 0 and at most 1e+12."]}}
    events = run(answered(messages, run(messages), [error]))

    answer = text(events)
    assert "The alert on BTC was not created: condition.level: Must be greater than 0 and at most 1e+12." in answer
    assert 'An alert reads like "alert me when BTC crosses 100000".' in answer
    assert stop(events) == "end"


def test_an_enveloped_result_and_its_links_reach_the_answer():
    messages = _user("export my alerts as CSV")
    envelope = {
        "ok": True,
        "result": {"format": "csv", "rows": 3, "url": "/ai/exports/abc", "expires_at": "2026-12-08T15:00:00Z"},
        "links": [{"label": "alerts.csv", "url": "/ai/exports/abc"}],
    }
    answer = text(run(answered(messages, run(messages), [envelope])))

    assert "CSV export of your alerts: [Download the CSV](/ai/exports/abc)." in answer
    assert "expires 2026-12-08T15:00:00Z" in answer


def test_a_link_that_is_not_http_or_relative_is_not_offered():
    messages = _user("export my watchlist as json")
    answer = text(run(answered(messages, run(messages), [{"url": "javascript:alert(1)", "format": "json"}])))

    assert "javascript:" not in answer.replace("Download the JSON", "")
    assert "](javascript" not in answer


def test_an_analysis_answer_gives_the_verdict_signals_and_levels():
    messages = _user("analyse ETH on 4h")
    analysis = {
        "symbol": "ETH", "timeframe": "4h", "price": 3000.0,
        "summary": {"verdict": "buy", "score": 0.3, "signals": [{"reason": "RSI 45.0 is between 30 and 70"}]},
        "levels": {"support": [{"price": 2900.0}], "resistance": [{"price": 3100.0}]},
    }  # fmt: skip
    answer = text(run(answered(messages, run(messages), [analysis])))

    assert "### [ETH](/coins/ETH) · 4h" in answer
    assert "Price **3,000.00**, verdict **buy** (score +0.30)." in answer
    assert "- RSI 45.0 is between 30 and 70" in answer and "Support: 2,900.00 · Resistance: 3,100.00" in answer


def test_a_pattern_answer_lists_them_with_confidence():
    messages = _user("any patterns on SOL 1d?")
    answer = text(run(answered(messages, run(messages), [{"patterns": [DOUBLE_BOTTOM]}])))

    assert "| double bottom | bullish | 82% | 0.16000 | 0.20000 |" in answer


def test_a_portfolio_answer_shows_its_figures_and_holdings():
    messages = _user("how is my portfolio")
    portfolio = {"total_value": 1234.5, "pnl": -12.25, "holdings": [{"symbol": "BTC", "quantity": 0.01, "pnl": 5.5}]}
    answer = text(run(answered(messages, run(messages), [portfolio])))

    assert "- Total value: 1,234.50" in answer and "- Pnl: -12.25" in answer
    assert "| BTC | 0.01 | 5.50 |" in answer


def test_names_from_results_cannot_inject_markdown():
    messages = _user("show coins with RSI below 30 on 1h")
    rows = [{"symbol": "DOGE", "name": "[click](javascript:x) | <b>", "price": 0.15}]
    answer = text(run(answered(messages, run(messages), [rows])))

    assert "\\[click\\](javascript:x) \\| \\<b\\>" in answer


def test_not_understood_says_so_and_lists_what_it_understands_with_examples():
    events = ask("what's the meaning of life?")

    answer = text(events)
    assert calls(events) == [] and stop(events) == "end"
    assert answer.startswith("I did not understand “what's the meaning of life?”.")
    for capability in ("Screen the market", "Analyse a coin", "chart patterns", "Create alerts", "watchlists",
                       "Export", "portfolio"):  # fmt: skip
        assert capability in answer
    assert '"alert me when BTC crosses 100000"' in answer and "[Settings → AI](/settings/ai)" in answer


def test_help_lists_the_capabilities_without_saying_it_failed():
    answer = text(ask("hello"))

    assert "did not understand" not in answer and "Screen the market" in answer


def test_a_command_missing_its_coin_asks_for_it():
    events = ask("alert me when it crosses 100")

    assert calls(events) == [] and stop(events) == "end"
    assert text(events).startswith('Which coin should the alert watch? E.g. "alert me when BTC crosses 100000".')
