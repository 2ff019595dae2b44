"""Anthropic's Messages API through the `anthropic` SDK, behind the one adapter interface.

Out: the system prompt goes to the top-level `system`, assistant tool calls become `tool_use` blocks
and tool results `tool_result` blocks of one user message (the API wants every result of a turn's
calls in the very next message). Tool-use ids must match `^[a-zA-Z0-9_-]+$`, so ids made by other
providers are mapped, the same way for a call and its result.
In: the raw SSE events (`messages.create(stream=True)`): text deltas as they come, a tool call once
its block stops (its `input_json_delta` fragments joined and parsed), the usage of `message_start`
updated by `message_delta`, and nothing trusted until `message_stop`.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence

import anthropic

from providers.adapters import DEFAULT_BASE_URLS
from providers.adapters.base import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    Credentials,
    Event,
    Message,
    NetworkError,
    Options,
    OverloadedError,
    ProviderError,
    ProviderTimeout,
    RateLimitedError,
    Stop,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

STOP_REASONS = {
    "end_turn": "end",
    "stop_sequence": "end",
    "tool_use": "tool_calls",
    "max_tokens": "max_tokens",
    # The conversation filled the model's context window: the answer was cut by a limit, too.
    "model_context_window_exceeded": "max_tokens",
    "refusal": "content_filter",
}

# The HTTP status an `error.type` stands for: an error sent inside a stream arrives under a 200.
ERROR_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

SAFE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


class AnthropicAdapter:
    """The `anthropic` kind: Claude models through the Messages API."""

    def __init__(self, *, kind: str, base_url: str | None, credentials: Credentials):
        self._key = credentials.api_key
        # Retries are the caller's (fallback to another provider), so the SDK makes one attempt.
        self._client = anthropic.Anthropic(
            api_key=credentials.api_key, base_url=base_url or DEFAULT_BASE_URLS[kind], max_retries=0, timeout=60.0
        )

    def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> Iterator[Event]:
        """Send the conversation and yield its events; raises `ProviderError`s, also midway."""
        try:
            stream = self._client.messages.create(**request_params(messages, tools, options), stream=True)
            with stream:
                yield from StreamReader().events(stream)
        except anthropic.AnthropicError as error:
            raise provider_error(error, self._key) from error

    def list_models(self) -> list[str]:
        """Every model id the key may use, across the list's pages."""
        try:
            return sorted(model.id for model in self._client.models.list(limit=1000))
        except anthropic.AnthropicError as error:
            raise provider_error(error, self._key) from error


# --- the request -----------------------------------------------------------------------------


def request_params(messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> dict:
    """The keyword arguments of `messages.create` for this conversation."""
    params: dict = {
        "model": options.model,
        "max_tokens": options.max_tokens,
        "messages": conversation(messages),
        "timeout": options.timeout,
    }
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content)
    if system:
        params["system"] = system
    if tools:
        params["tools"] = [tool_declaration(tool) for tool in tools]
    # No `temperature`: the Messages API version this SDK speaks has dropped sampling parameters.
    return params


def tool_declaration(tool: ToolSpec) -> dict:
    schema = tool.parameters or {"type": "object", "properties": {}}
    return {"name": tool.name, "description": tool.description, "input_schema": schema}


def conversation(messages: Sequence[Message]) -> list[dict]:
    """The `messages` list: consecutive messages of one role (tool results count as the user's) merged
    into one, tool results first, blank text left out (the API refuses blank text blocks)."""
    ids = ToolUseIds()
    turns: list[dict] = []
    for message in messages:
        role, blocks = message_blocks(message, ids)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        # The results must open the user message that follows the calls.
        turn["content"].sort(key=lambda block: block["type"] != "tool_result")
    return turns


def message_blocks(message: Message, ids: ToolUseIds) -> tuple[str, list[dict]]:
    text = [{"type": "text", "text": message.content}] if message.content.strip() else []
    if message.role == "assistant":
        calls = [
            {"type": "tool_use", "id": ids.for_call(call.id, call.name), "name": call.name, "input": call.arguments}
            for call in message.tool_calls
        ]
        return "assistant", text + calls
    if message.role == "tool":
        result = {
            "type": "tool_result",
            "tool_use_id": ids.for_result(message.tool_call_id or "", message.name),
            "content": message.content,
            "is_error": message.is_error,
        }
        return "user", [result]
    if message.role == "user":
        return "user", text
    return "system", []  # already in the top-level `system`


class ToolUseIds:
    """Tool-call ids as Anthropic accepts them. An id that fits is kept (so the model sees its own ids);
    another is mapped deterministically (its call and its result map alike); calls without an id
    (some providers give none) are numbered and their results matched to them by name, in order."""

    def __init__(self):
        self._numbered = 0
        self._unanswered: list[tuple[str, str | None]] = []  # (given id, tool name) of id-less calls

    def for_call(self, raw: str, name: str) -> str:
        if raw:
            return safe_id(raw)
        self._numbered += 1
        given = f"toolu_unnamed_{self._numbered}"
        self._unanswered.append((given, name))
        return given

    def for_result(self, raw: str, name: str | None) -> str:
        if raw:
            return safe_id(raw)
        match = next((pair for pair in self._unanswered if pair[1] == name), None)
        match = match or (self._unanswered[0] if self._unanswered else None)
        if match is None:
            return self.for_call("", name or "")
        self._unanswered.remove(match)
        return match[0]


def safe_id(raw: str) -> str:
    """`raw` if Anthropic accepts it; else its allowed characters and a digest of the whole, so that two
    ids differing only in refused characters stay apart."""
    if SAFE_ID.match(raw) and len(raw) <= 64:
        return raw
    kept = re.sub(r"[^a-zA-Z0-9_-]", "_", raw)[:40]
    return f"{kept}_{hashlib.sha256(raw.encode()).hexdigest()[:16]}"


# --- the answer ------------------------------------------------------------------------------


class StreamReader:
    """Turns the raw Messages SSE events into the interface's events."""

    def __init__(self):
        self.usage: dict[str, int] = {}
        self.tools: dict[int, dict] = {}  # index -> {"id", "name", "fragments"} of open tool_use blocks
        self.stop_reason: str | None = None
        self.finished = False

    def events(self, stream) -> Iterator[Event]:
        for event in stream:
            yield from self.handle(event)
        if not self.finished:
            raise NetworkError("The answer was cut off before its end (no message_stop).")
        usage = self.usage
        yield Usage(
            input_tokens=sum(usage.get(k) or 0 for k in ("input_tokens", "cache_read", "cache_creation")),
            cached_input_tokens=usage.get("cache_read") or 0,
            output_tokens=usage.get("output_tokens") or 0,
        )
        yield Stop(STOP_REASONS.get(self.stop_reason or "", "other"))

    def handle(self, event) -> Iterator[Event]:
        kind = event.type
        if kind == "message_start":
            self.count(event.message.usage)
        elif kind == "content_block_start":
            yield from self.block_start(event.index, event.content_block)
        elif kind == "content_block_delta":
            yield from self.block_delta(event.index, event.delta)
        elif kind == "content_block_stop" and event.index in self.tools:
            yield tool_call(self.tools.pop(event.index))
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            self.count(event.usage)
        elif kind == "message_stop":
            self.finished = True

    def block_start(self, index: int, block) -> Iterator[Event]:
        if block.type == "tool_use":
            self.tools[index] = {"id": block.id, "name": block.name, "fragments": []}
        elif block.type == "text" and block.text:
            yield TextDelta(block.text)

    def block_delta(self, index: int, delta) -> Iterator[Event]:
        if delta.type == "text_delta" and delta.text:
            yield TextDelta(delta.text)
        elif delta.type == "input_json_delta" and index in self.tools:
            self.tools[index]["fragments"].append(delta.partial_json)

    def count(self, usage) -> None:
        """Take the counts a usage object carries; `message_delta`'s are cumulative, so they replace."""
        if usage is None:
            return
        fields = {
            "input_tokens": usage.input_tokens,
            "cache_read": usage.cache_read_input_tokens,
            "cache_creation": usage.cache_creation_input_tokens,
            "output_tokens": usage.output_tokens,
        }
        self.usage.update({name: value for name, value in fields.items() if value is not None})


def tool_call(block: dict) -> ToolCall:
    """The complete call; arguments that are not a JSON object are handed back raw to be refused."""
    raw = "".join(block["fragments"])
    if not raw.strip():
        return ToolCall(id=block["id"], name=block["name"], arguments={})
    try:
        arguments = json.loads(raw)
    except ValueError:
        arguments = None
    if not isinstance(arguments, dict):
        return ToolCall(id=block["id"], name=block["name"], arguments={}, invalid_arguments=raw)
    return ToolCall(id=block["id"], name=block["name"], arguments=arguments)


# --- the errors ------------------------------------------------------------------------------


def provider_error(error: anthropic.AnthropicError, key: str) -> ProviderError:
    """The interface's error for what the SDK raised, in the provider's own words, without the key."""
    if isinstance(error, anthropic.APITimeoutError):
        return ProviderTimeout("Anthropic did not answer in time.")
    if isinstance(error, anthropic.APIConnectionError):
        return NetworkError(scrub(f"Could not reach Anthropic: {error.message}", key))
    if not isinstance(error, anthropic.APIStatusError):
        return ProviderError(scrub(str(error), key))
    status = error.status_code
    if status < 400:  # an `event: error` inside a stream that began well
        status = ERROR_TYPE_STATUS.get(error.type or "", 500)
    message = scrub(error.api_message or f"Anthropic answered with status {status}.", key)
    return status_error(status, message, error.response.headers if error.status_code >= 400 else {})


def status_error(status: int, message: str, headers) -> ProviderError:
    if status in (401, 403):
        return AuthenticationError(message, status=status)
    if status == 429:
        return RateLimitedError(message, status=status, retry_after=retry_after(headers))
    if status in (408, 504):
        return ProviderTimeout(message, status=status)
    if status >= 500:
        return OverloadedError(message, status=status)
    if "prompt is too long" in message.lower():
        return ContextTooLongError(message, status=status)
    return BadRequestError(message, status=status)


def retry_after(headers) -> float | None:
    """Seconds to wait, from `retry-after` (seconds or an HTTP date)."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(email.utils.parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def scrub(text: str, key: str) -> str:
    """`text` with the key cut out, should a message ever quote it."""
    return text.replace(key, "[key]") if key else text
