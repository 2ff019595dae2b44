"""The built-in assistant: plain commands → the right tool calls, across rounds, then a Markdown answer."""

from __future__ import annotations

import json

import jsonschema
import pytest

from alerts.conditions import condition_clean
from assistant.builtin import BuiltinAdapter
from assistant.tools.schemas import SCHEMAS
from providers.adapters.base import Message, Options, Stop, TextDelta, ToolCall, ToolSpec, Usage

# Driving the built-in assistant as the chat loop does: messages in, events out, tool results scripted.
TOOLS = [ToolSpec(name=name, description=f"The {name} tool.", parameters=schema) for name, schema in SCHEMAS.items()]
OPTIONS = Options(model="built-in")


def run(messages: list[Message], *, tools=TOOLS) -> list:
    return list(BuiltinAdapter().stream(messages, tools, OPTIONS))


def ask(text: str) -> list:
    return run(
        [Message(role="system", content="You are Scalpaiboard's assistant."), Message(role="user", content=text)]
    )


def calls(events: list) -> list[tuple[str, dict]]:
    return [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]


def text(events: list) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def stop(events: list) -> str:
    assert isinstance(events[-1], Stop) and isinstance(events[-2], Usage)
    return events[-1].reason


def answered(messages: list[Message], events: list, results: list) -> list[Message]:
    """The conversation after a round: the assistant's message, then one tool message per call."""
    tool_calls = tuple(e for e in events if isinstance(e, ToolCall))
    assert len(tool_calls) == len(results)
    after = [*messages, Message(role="assistant", content=text(events), tool_calls=tool_calls)]
    return after + [
        Message(role="tool", tool_call_id=c.id, name=c.name, content=json.dumps(r), is_error=_is_error(r))
        for c, r in zip(tool_calls, results, strict=True)
    ]


def _is_error(result) -> bool:
    return isinstance(result, dict) and result.get("ok") is False


def assert_valid(name: str, arguments: dict) -> None:
    jsonschema.validate(arguments, SCHEMAS[name], cls=jsonschema.Draft202012Validator)


pytestmark = pytest.mark.usefixtures("coins")

COMMANDS = {
    "show coins with RSI below 30 on 1h": [("filter_coins", {"rsi_below": 30, "timeframe": "1h"})],
    "which coins under $1 are oversold on the 4h with a double bottom?": [
        ("filter_coins", {"max_price": 1, "rsi_below": 30, "timeframe": "4h", "pattern": "double_bottom"})
    ],
    "coins up more than 5% today with volume over 10M": [("filter_coins", {"min_change": 5, "min_volume": 10_000_000})],
    "coins down more than 3% with RSI between 20 and 40 on 15m": [
        ("filter_coins", {"max_change": -3, "rsi_above": 20, "rsi_below": 40, "timeframe": "15m"})
    ],
    "top 10 coins between $1 and $5 with a head & shoulders on the daily": [
        (
            "filter_coins",
            {"limit": 10, "min_price": 1, "max_price": 5, "pattern": "head_and_shoulders", "timeframe": "1d"},
        )
    ],
    "coins that are oversold and are under $1": [("filter_coins", {"rsi_below": 30, "max_price": 1})],
    "which coins on my 'alts' watchlist are overbought": [("filter_coins", {"rsi_above": 70, "watchlist": "alts"})],
    "analyse ETH on 4h": [("get_coin_analysis", {"symbol": "ETH", "timeframe": "4h"})],
    "is bitcoin oversold on the daily?": [("get_coin_analysis", {"symbol": "BTC", "timeframe": "1d"})],
    "any patterns on SOL 1d?": [("analyze_pattern", {"symbol": "SOL", "timeframe": "1d"})],
    "patterns on doge with confidence over 70%": [("analyze_pattern", {"symbol": "DOGE", "min_confidence": 0.7})],
    "alert me when BTC crosses 100000": [
        ("create_alert", {"symbol": "BTC", "condition": {"kind": "crossing", "level": 100000}})
    ],
    "alert me when bitcoin goes above 100k": [
        ("create_alert", {"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100000}})
    ],
    "tell me when ether drops below $3,000": [
        ("create_alert", {"symbol": "ETH", "condition": {"kind": "crossing_down", "level": 3000}})
    ],
    "alert me when ETH is above 4000.5": [
        ("create_alert", {"symbol": "ETH", "condition": {"kind": "price_above", "level": 4000.5}})
    ],
    "notify me when sol RSI crosses 50 on the 4h": [
        ("create_alert", {"symbol": "SOL", "condition": {"kind": "rsi_crosses_above", "level": 50}, "timeframe": "4h"})
    ],
    "alert me when DOGE RSI crosses below 30": [
        ("create_alert", {"symbol": "DOGE", "condition": {"kind": "rsi_crosses_below", "level": 30}})
    ],
    "ping me when PEPE is overbought on 1h": [
        ("create_alert", {"symbol": "PEPE", "condition": {"kind": "rsi_above", "level": 70}, "timeframe": "1h"})
    ],
    "alert me on a golden cross for BTC on 1d": [
        (
            "create_alert",
            {"symbol": "BTC", "condition": {"kind": "ma_cross_golden", "fast": 50, "slow": 200}, "timeframe": "1d"},
        )
    ],
    "let me know when SOL enters the range 120 to 130": [
        ("create_alert", {"symbol": "SOL", "condition": {"kind": "entering_channel", "low": 120, "high": 130}})
    ],
    "alert me when ETH pumps 5% within 3 bars": [
        ("create_alert", {"symbol": "ETH", "condition": {"kind": "moving_up", "percent": 5, "bars": 3}})
    ],
    "add SOL to my watchlist": [("add_to_watchlist", {"symbol": "SOL"})],
    "add sol and doge to my 'alts' watchlist": [
        ("add_to_watchlist", {"symbol": "SOL", "watchlist": "alts"}),
        ("add_to_watchlist", {"symbol": "DOGE", "watchlist": "alts"}),
    ],
    "put $PEPE on my memes watchlist": [("add_to_watchlist", {"symbol": "PEPE", "watchlist": "memes"})],
    "export my alerts as CSV": [("export_results", {"what": "alerts", "format": "csv"})],
    "export my watchlist as json": [("export_results", {"what": "watchlist", "format": "json"})],
    "download my portfolio": [("export_results", {"what": "portfolio"})],
    "how is my portfolio": [("get_portfolio", {})],
    "show my P&L with fifo": [("get_portfolio", {"method": "fifo"})],
    "analyse ETH and alert me when it crosses 4000": [
        ("get_coin_analysis", {"symbol": "ETH"}),
        ("create_alert", {"symbol": "ETH", "condition": {"kind": "crossing", "level": 4000}}),
    ],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_command_calls_the_right_tools_with_the_right_arguments(command):
    events = ask(command)

    assert calls(events) == COMMANDS[command]
    assert stop(events) == "tool_calls"


@pytest.mark.parametrize("command", COMMANDS)
def test_arguments_are_valid_against_the_tool_schemas(command):
    for name, arguments in calls(ask(command)):
        assert_valid(name, arguments)
        if name == "create_alert":
            condition_clean(arguments["condition"])  # what POST /api/alerts would accept


def test_a_lower_case_english_word_is_no_coin_but_a_symbol_in_capitals_is(coins):
    from markets.models import Coin

    Coin.objects.create(symbol="ONE", name="Harmony", rank=6, price=0.01, updated_at=coins["BTC"].updated_at)

    assert calls(ask("add ONE to my watchlist")) == [("add_to_watchlist", {"symbol": "ONE"})]
    assert calls(ask("add one more coin")) == []


def test_a_coin_that_is_not_listed_is_not_named():
    events = ask("analyse FAKECOIN on 4h")

    assert calls(events) == []
    assert "I did not understand" in text(events)


def test_text_is_streamed_word_by_word_before_the_calls():
    events = ask("show coins with RSI below 30 on 1h")
    deltas = [e for e in events if isinstance(e, TextDelta)]

    assert len(deltas) > 5 and all(len(d.text.split()) == 1 for d in deltas)
    assert events.index(deltas[-1]) < min(events.index(e) for e in events if isinstance(e, ToolCall))
    assert text(events).startswith("Screening the market (RSI below 30, on 1h)…")


def test_usage_is_all_zeros_and_comes_last_before_stop():
    events = ask("how is my portfolio")

    usage = [e for e in events if isinstance(e, Usage)]
    assert usage == [Usage(0, 0, 0)] and events[-2] is usage[0]


def test_list_models_is_the_built_in_one():
    assert BuiltinAdapter().list_models() == ["built-in"]


def test_no_tool_is_called_when_the_loop_offers_none():
    messages = [Message(role="user", content="alert me when BTC crosses 100000")]

    events = run(messages, tools=[])

    assert calls(events) == [] and stop(events) == "end"


def test_the_last_user_message_is_the_one_answered():
    first = [Message(role="user", content="how is my portfolio")]
    events = run(first)
    history = answered(first, events, [{"total_value": 10}])
    history += [Message(role="assistant", content="Your portfolio…"), Message(role="user", content="analyse SOL")]

    assert calls(run(history)) == [("get_coin_analysis", {"symbol": "SOL"})]
