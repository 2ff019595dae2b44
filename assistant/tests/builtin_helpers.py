"""Driving the built-in assistant as the chat loop does: messages in, events out, tool results scripted."""

from __future__ import annotations

import json

import jsonschema

from assistant.builtin import BuiltinAdapter
from assistant.tools.schemas import SCHEMAS
from providers.adapters.base import Message, Options, Stop, TextDelta, ToolCall, ToolSpec, Usage

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
