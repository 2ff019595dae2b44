"""The built-in assistant as a provider adapter: no network and no model, a deterministic reading of
plain commands (``plan``) that calls the same tools through the same loop as any provider.

The adapter keeps no state between rounds: each round it reads the turn again (the last user message and
the tool calls and results after it) and decides where it is:
round 1 makes the plan's calls; round 2 the follow-ups on the coins the screen found ("watch them");
then it writes the answer from the results. Text is streamed word by word so that pages stream it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

from assistant.builtin.answer import exchanges_of, final_answer, help_answer, progress
from assistant.builtin.markdown import md
from assistant.builtin.plan import Call, Plan, plan_for
from assistant.builtin.summaries import rows_of
from assistant.builtin.text import words
from assistant.builtin.vocabulary import Vocabulary, vocabulary_load
from providers.adapters.base import Event, Message, Options, Stop, TextDelta, ToolCall, ToolSpec, Usage

MODEL = "built-in"
MAX_FOLLOW_UP_COINS = 10  # coins a "watch them" acts on: a screen of 50 is a list to read, not to watch
EXPORT_FIELDS = ("symbol", "name", "price", "change24h", "volume24h", "rsi", "verdict")


class BuiltinAdapter:
    """``stream`` yields TextDelta / ToolCall / Usage (zeros: it costs nothing) / Stop, like any adapter."""

    def __init__(self, vocabulary: Vocabulary | None = None):
        self._vocabulary = vocabulary  # None: the listed coins, read when a request comes

    def list_models(self) -> list[str]:
        return [MODEL]

    def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> Iterator[Event]:
        vocabulary = self._vocabulary or vocabulary_load()
        text, turn = _current_turn(messages)
        plan = plan_for(text, vocabulary)
        calls = _next_calls(plan, turn, vocabulary, offered={tool.name for tool in tools})
        if calls:
            yield from _text(_found_line(turn) + progress(calls))
            for call in calls:
                yield ToolCall(id=f"builtin_{uuid.uuid4().hex[:16]}", name=call.name, arguments=call.arguments)
            yield from _end("tool_calls")
            return
        exchanges = exchanges_of(turn)
        yield from _text(final_answer(exchanges, plan.hints) if exchanges else help_answer(text, plan.hints))
        yield from _end("end")


def _current_turn(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    """The last user message's text and the messages after it (this turn's calls and results)."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return messages[index].content, list(messages[index + 1 :])
    return "", list(messages)


def _next_calls(plan: Plan, turn: list[Message], vocabulary: Vocabulary, *, offered: set[str]) -> list[Call]:
    """The calls of the next round: the plan's first, then its follow-ups; [] when it is time to answer."""
    rounds = sum(1 for message in turn if message.role == "assistant" and message.tool_calls)
    if rounds == 0:
        calls = plan.calls
    elif rounds == 1 and plan.follow_ups:
        calls = _follow_up_calls(plan, turn, vocabulary)
    else:
        calls = []
    return [call for call in calls if call.name in offered]


def _follow_up_calls(plan: Plan, turn: list[Message], vocabulary: Vocabulary) -> list[Call]:
    rows = _screened_rows(turn, vocabulary)
    if not rows:
        return []
    calls = []
    for follow_up in plan.follow_ups:
        if follow_up.per_coin:
            calls += [Call(follow_up.name, {"symbol": row["symbol"], **follow_up.arguments}) for row in rows]
        else:
            export = [{key: row[key] for key in EXPORT_FIELDS if key in row} for row in rows]
            calls.append(Call(follow_up.name, {**follow_up.arguments, "rows": export}))
    return calls


def _screened_rows(turn: list[Message], vocabulary: Vocabulary) -> list[dict]:
    """The rows the screen found, for listed coins only: a result's text can name no other coin to act on."""
    rows = []
    for exchange in exchanges_of(turn):
        if exchange.call.name == "filter_coins" and exchange.ok:
            rows += [
                row for row in rows_of(exchange.result) if str(row.get("symbol", "")).upper() in vocabulary.symbols
            ]
    unique = {str(row["symbol"]).upper(): {**row, "symbol": str(row["symbol"]).upper()} for row in rows}
    return list(unique.values())[:MAX_FOLLOW_UP_COINS]


def _found_line(turn: list[Message]) -> str:
    """Before the follow-ups, which coins the screen found: "Found 3 coins: DOGE, PEPE, SHIB."."""
    symbols = [
        str(row.get("symbol"))
        for exchange in exchanges_of(turn)
        if exchange.call.name == "filter_coins" and exchange.ok
        for row in rows_of(exchange.result)
    ]
    if not symbols:
        return ""
    shown = ", ".join(md(symbol) for symbol in symbols[:MAX_FOLLOW_UP_COINS])
    more = f" (acting on the first {MAX_FOLLOW_UP_COINS})" if len(symbols) > MAX_FOLLOW_UP_COINS else ""
    return f"Found {len(symbols)} coin{'s' if len(symbols) != 1 else ''}: {shown}{more}. "


def _text(text: str) -> Iterator[TextDelta]:
    for chunk in words(text):
        yield TextDelta(chunk)


def _end(reason: str) -> Iterator[Event]:
    yield Usage(input_tokens=0, cached_input_tokens=0, output_tokens=0)
    yield Stop(reason)
