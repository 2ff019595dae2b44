"""The chat-completions wire format, as OpenAI and the providers that copy it write it.

Pure functions from a scripted `Turn` to the SSE frames of `chat.completion.chunk`s, and the error
bodies; `server` sends them. Each provider's differences are a `flavor`:

- `openai` (also Together, Hugging Face, Ollama): the usage in an extra chunk with empty `choices`,
  sent only when the request asked for it with `stream_options.include_usage`.
- `groq`: the usage in `x_groq.usage` of the chunk that carries the finish reason, no usage chunk.
- `mistral`: the usage on the finish-reason chunk, always (Mistral refuses `stream_options`).
- `openrouter`: `: OPENROUTER PROCESSING` comment lines between chunks, the usage chunk always sent,
  with OpenRouter's own `cost` (USD) when the turn sets `reported_cost`.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from providers.tests.imitation_script import ScriptedError, ScriptedToolCall, Turn

FLAVORS = ("openai", "groq", "mistral", "openrouter")
OPENROUTER_COMMENT = b": OPENROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class OpenAITurn(Turn):
    """A `Turn` with what only this family's tests need.

    `finish_reason`: spelled out (`length`, `content_filter`, or `stop` with tool calls, as some
    servers send); by default `tool_calls` when the turn has calls, else `stop`.
    `clean_cut`: with `cut_after`, end the HTTP body properly instead of breaking the connection
    (a proxy that gives up): no finish reason, no usage, no `[DONE]`.
    `stream_error`: after the text, an error event inside the stream (as OpenRouter sends when the
    upstream provider fails midway), with `finish_reason` "error".
    """

    finish_reason: str | None = None
    clean_cut: bool = False
    stream_error: ScriptedError | None = None


def finish_reason_of(turn: Turn) -> str:
    reason = getattr(turn, "finish_reason", None)
    return reason or ("tool_calls" if turn.tool_calls else "stop")


def sse(payload: dict) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


class ChunkWriter:
    """Builds the `chat.completion.chunk` objects of one answer (same id, model and time in each)."""

    def __init__(self, *, model: str, include_usage: bool, flavor: str):
        self.model = model
        self.flavor = flavor
        # OpenAI adds `"usage": null` to every chunk once usage was asked for.
        self.usage_field = include_usage and flavor == "openai"
        self.include_usage = include_usage
        self.id = f"chatcmpl-imitation{time.monotonic_ns()}"
        self.created = int(time.time())

    def chunk(self, delta: dict, finish_reason: str | None = None, **extra) -> dict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_imitation",
            "choices": [choice],
        }
        if self.usage_field:
            body["usage"] = None
        return body | extra

    def events(self, turn: Turn) -> Iterator[dict]:
        """Every chunk of the turn, in order: role, text, tool-call fragments, finish, usage."""
        yield self.chunk({"role": "assistant", "content": ""})
        for text in turn.text:
            yield self.chunk({"content": text})
        if (error := getattr(turn, "stream_error", None)) is not None:
            yield self.chunk({"content": ""}, "error") | {"error": {"code": error.status, "message": error.message}}
            return
        yield from (self.chunk({"tool_calls": [fragment]}) for fragment in tool_call_fragments(turn.tool_calls))
        yield from self.ending(turn)

    def ending(self, turn: Turn) -> Iterator[dict]:
        usage = usage_body(turn)
        finish = self.chunk({}, finish_reason_of(turn))
        if self.flavor == "mistral":
            yield finish | {"usage": usage}
        elif self.flavor == "groq":
            yield finish | {"x_groq": {"id": "req_imitation", "usage": usage | groq_timings()}}
        else:
            yield finish
            if self.include_usage or self.flavor == "openrouter":
                if turn.reported_cost is not None and self.flavor == "openrouter":
                    # OpenRouter writes the cost as a JSON number
                    usage |= {"cost": json.loads(turn.reported_cost), "is_byok": False}
                yield self.chunk({}) | {"choices": [], "usage": usage}


def tool_call_fragments(calls: tuple[ScriptedToolCall, ...]) -> Iterator[dict]:
    """Each call's fragments, interleaved across parallel calls (the protocol joins them by
    `index`): the first fragment of a call carries its id and name, the others only arguments."""
    streams = [_fragments_of(index, call) for index, call in enumerate(calls)]
    for round_ in itertools.zip_longest(*streams):
        yield from (fragment for fragment in round_ if fragment is not None)


def _fragments_of(index: int, call: ScriptedToolCall) -> list[dict]:
    head = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
    return [head] + [{"index": index, "function": {"arguments": part}} for part in call.argument_fragments]


def usage_body(turn: Turn) -> dict:
    return {
        "prompt_tokens": turn.input_tokens,
        "completion_tokens": turn.output_tokens,
        "total_tokens": turn.input_tokens + turn.output_tokens,
        "prompt_tokens_details": {"cached_tokens": turn.cached_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }


def groq_timings() -> dict:
    return {"queue_time": 0.01, "prompt_time": 0.002, "completion_time": 0.01, "total_time": 0.012}


# --- errors --------------------------------------------------------------------------------------

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    429: "requests",
}
ERROR_CODES = {401: "invalid_api_key", 429: "rate_limit_exceeded"}


def error_body(status: int, message: str, *, code: str | None = None) -> bytes:
    """OpenAI's error body: {"error": {"message", "type", "param", "code"}}."""
    error = {
        "message": message,
        "type": ERROR_TYPES.get(status, "server_error"),
        "param": None,
        "code": code or ERROR_CODES.get(status),
    }
    return orjson.dumps({"error": error})


def mistral_error_body(message: str | dict, *, type_: str = "invalid_request_error", code: str | None = None) -> bytes:
    """Mistral's error body: not wrapped in "error"; a 422's message is pydantic's `detail` list."""
    return orjson.dumps({"object": "error", "message": message, "type": type_, "param": None, "code": code})


def extra_forbidden(field: str, value: object) -> dict:
    """The `message` of Mistral's 422 for a field its API does not know."""
    return {
        "detail": [
            {"type": "extra_forbidden", "loc": ["body", field], "msg": "Extra inputs are not permitted", "input": value}
        ]
    }
