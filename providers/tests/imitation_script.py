"""What a local provider imitation answers, described once for every wire-protocol family.

A test (or a benchmark) hands an imitation server a list of `Turn`s; each request the server receives
takes the next turn and answers it in its family's own wire format (OpenAI chat-completions SSE,
Anthropic Messages SSE, Gemini streamGenerateContent SSE, Bedrock ConverseStream event-stream).
The servers record every request body they receive (`requests`), so that tests can check what the
adapter sent: the system prompt, the tools, tool results carried over from another provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ScriptedToolCall:
    id: str
    name: str
    # The arguments' JSON text as the provider streams it: several fragments joined by the client.
    argument_fragments: tuple[str, ...] = ("{}",)


@dataclass(frozen=True)
class ScriptedError:
    status: int
    message: str = "scripted failure"
    # e.g. {"retry-after": "7"} for a 429
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One answer. Text chunks stream first, then the tool calls (parallel when several), then the
    usage and the stop reason. `error` answers the request with that HTTP status and the family's
    error body instead. `cut_after` closes the connection after that many text chunks, without the
    stream's end (a stream cut halfway). `delay` seconds pass before each chunk."""

    text: tuple[str, ...] = ()
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    input_tokens: int = 10
    cached_input_tokens: int = 0
    output_tokens: int = 5
    error: ScriptedError | None = None
    cut_after: int | None = None
    delay: float = 0.0
    # OpenRouter only: the cost it reports in its usage chunk (a decimal string), when set.
    reported_cost: str | None = None


def text_turn(*chunks: str, **kwargs) -> Turn:
    return Turn(text=tuple(chunks), **kwargs)
