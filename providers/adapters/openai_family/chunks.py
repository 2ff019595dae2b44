"""From streamed `chat.completion.chunk`s to the adapter's events.

Tool calls arrive as fragments joined by `index` (the id and name in a call's first fragment only,
parallel calls possibly interleaved); they are given out complete when the finish reason arrives.
Usage comes from whichever chunk carries it: OpenAI's extra chunk with empty `choices`
(`include_usage`), the finish chunk (Mistral), or `x_groq.usage` (Groq); OpenRouter adds its own
`cost` in USD.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from providers.adapters.base import Event, Stop, TextDelta, ToolCall, Usage

STOP_REASONS = {
    "stop": "end",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "max_tokens",
    "content_filter": "content_filter",
}


@dataclass
class PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def complete(self) -> ToolCall:
        raw = "".join(self.arguments)
        if not raw.strip():
            return ToolCall(id=self.id, name=self.name, arguments={})
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return ToolCall(id=self.id, name=self.name, arguments={}, invalid_arguments=raw)
        return ToolCall(id=self.id, name=self.name, arguments=parsed)


class ChunkAssembly:
    """Feed it the chunks in order (`take`), then ask for the closing events (`ending`)."""

    def __init__(self) -> None:
        self.calls: dict[int, PartialCall] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    def take(self, chunk: Any) -> list[Event]:
        """The events this chunk completes: its text, and the tool calls once the finish reason came."""
        self.usage = usage_of(chunk) or self.usage
        events: list[Event] = []
        for choice in chunk.choices[:1]:  # n=1: one choice
            if choice.delta is not None:
                events += self.take_delta(choice.delta)
            if choice.finish_reason and self.finish_reason is None:
                self.finish_reason = choice.finish_reason
                events += [partial.complete() for _, partial in sorted(self.calls.items())]
        return events

    def take_delta(self, delta: Any) -> list[Event]:
        for fragment in delta.tool_calls or ():
            self.take_fragment(fragment)
        return [TextDelta(delta.content)] if delta.content else []

    def take_fragment(self, fragment: Any) -> None:
        index = fragment.index
        if index is None:  # servers that leave it out send each call whole, or continue the last
            index = len(self.calls) if fragment.id or not self.calls else max(self.calls)
        partial = self.calls.setdefault(index, PartialCall())
        partial.id = partial.id or fragment.id or ""
        if fragment.function is not None:
            partial.name = partial.name or fragment.function.name or ""
            if fragment.function.arguments:
                partial.arguments.append(fragment.function.arguments)

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def ending(self) -> list[Event]:
        """Usage (zeros if the provider sent none) and the stop reason."""
        reason = STOP_REASONS.get(self.finish_reason or "", "other")
        if reason == "end" and self.calls:
            reason = "tool_calls"  # some servers say "stop" after tool calls; the caller must answer them
        return [self.usage or Usage(), Stop(reason)]


def usage_of(chunk: Any) -> Usage | None:
    """The chunk's usage, from `usage` or Groq's `x_groq.usage`; None when it carries none."""
    usage = chunk.usage
    if usage is None:
        groq = (chunk.model_extra or {}).get("x_groq") or {}
        usage = groq.get("usage") if isinstance(groq, dict) else None
    if usage is None:
        return None
    return usage_from(usage if isinstance(usage, dict) else usage.model_dump())


def usage_from(usage: dict) -> Usage:
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        cached_input_tokens=int(details.get("cached_tokens") or 0),
        output_tokens=int(usage.get("completion_tokens") or 0),
        cost_usd=cost_of(usage.get("cost")),
    )


def cost_of(value: object) -> Decimal | None:
    """OpenRouter's `usage.cost` (a JSON number, USD) as an exact Decimal of its decimal text."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
