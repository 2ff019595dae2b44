"""What the imitation answers, in the Messages API's own shapes: the SSE events of a streamed turn, the
JSON message of an unstreamed one, and the error bodies.

A turn's tokens are the neutral ones (`input_tokens` counts every prompt token, cached included); on
the wire Anthropic splits them into `input_tokens` (uncached), `cache_read_input_tokens` and
`cache_creation_input_tokens`, so that a client must add them up again.
"""

from __future__ import annotations

import json
import uuid

from providers.tests.imitation_script import Turn

# The `error.type` Anthropic names for each HTTP status it answers with.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str) -> dict:
    """The body of an error answer (and the data of a mid-stream `event: error`)."""
    kind = ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id()}


def request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def sse(event: dict) -> bytes:
    """One server-sent event as the API frames it: the event name repeats the data's `type`."""
    return f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n".encode()


def wire_usage(turn: Turn, cache_creation: int) -> dict:
    uncached = max(turn.input_tokens - turn.cached_input_tokens - cache_creation, 0)
    return {
        "input_tokens": uncached,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": turn.cached_input_tokens,
        "output_tokens": 1,
        "service_tier": "standard",
    }


def stop_reason(turn: Turn, body: dict, forced: str | None) -> tuple[str, int]:
    """The turn's stop reason and its output tokens: `max_tokens` when the turn would write more than the
    request allows (its output then counts exactly `max_tokens`), `forced` when a test set one."""
    limit = body.get("max_tokens") or 0
    if forced:
        return forced, turn.output_tokens
    if turn.output_tokens >= limit:
        return "max_tokens", limit
    return ("tool_use" if turn.tool_calls else "end_turn"), turn.output_tokens


def message_start(turn: Turn, body: dict, cache_creation: int) -> dict:
    message = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": wire_usage(turn, cache_creation),
    }
    return {"type": "message_start", "message": message}


def text_block_start(index: int) -> dict:
    return {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}


def text_delta(index: int, text: str) -> dict:
    return {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}


def tool_block_start(index: int, call_id: str, name: str) -> dict:
    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
    return {"type": "content_block_start", "index": index, "content_block": block}


def json_delta(index: int, fragment: str) -> dict:
    delta = {"type": "input_json_delta", "partial_json": fragment}
    return {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> dict:
    return {"type": "content_block_stop", "index": index}


def message_delta(reason: str, output_tokens: int) -> dict:
    delta = {"stop_reason": reason, "stop_sequence": None}
    return {"type": "message_delta", "delta": delta, "usage": {"output_tokens": output_tokens}}


def whole_message(turn: Turn, body: dict, cache_creation: int, forced: str | None) -> dict:
    """The JSON answer to a request without `stream`: the same turn, in one message."""
    reason, output_tokens = stop_reason(turn, body, forced)
    message = message_start(turn, body, cache_creation)["message"]
    content = [{"type": "text", "text": "".join(turn.text)}] if turn.text else []
    for call in turn.tool_calls:
        try:
            arguments = json.loads("".join(call.argument_fragments))
        except ValueError:
            arguments = {}
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    message.update(content=content, stop_reason=reason)
    message["usage"]["output_tokens"] = output_tokens
    return message
