"""Gemini's wire format for a scripted `Turn`: the `streamGenerateContent?alt=sse` chunks and the
Google API error body.

Gemini streams whole `GenerateContentResponse` objects, one per SSE `data:` line. A function call's
`args` always arrive whole (a JSON object), never in fragments; what splits is the answer: text over
several chunks, and parallel function calls over one or several chunks. Arguments the model could
not write as an object come back as Gemini's own `MALFORMED_FUNCTION_CALL` finish, without a call.
"""

from __future__ import annotations

import json

from providers.tests.imitation_script import ScriptedError, ScriptedToolCall, Turn

# google.rpc.Code names Google's JSON error bodies carry next to the HTTP status.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# Parallel function calls go out this many to a chunk, so that three calls span two chunks.
CALLS_PER_CHUNK = 2


def error_body(status: int, message: str, *, details: list | None = None) -> dict:
    """Google's error envelope: {"error": {"code", "message", "status", "details"?}}."""
    error = {"code": status, "message": message, "status": STATUS_NAMES.get(status, "UNKNOWN")}
    if details:
        error["details"] = details
    return {"error": error}


def scripted_error_body(error: ScriptedError) -> dict:
    """A scripted failure; a retry-after becomes the RetryInfo detail Google sends with a 429."""
    retry_after = {k.lower(): v for k, v in error.headers.items()}.get("retry-after")
    details = None
    if retry_after is not None:
        details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"}]
    return error_body(error.status, error.message, details=details)


def usage_metadata(turn: Turn, output_so_far: int) -> dict:
    """Gemini repeats the usage on every chunk, the output count growing; the last one is final."""
    usage = {
        "promptTokenCount": turn.input_tokens,
        "candidatesTokenCount": output_so_far,
        "totalTokenCount": turn.input_tokens + output_so_far,
    }
    if turn.cached_input_tokens:
        usage["cachedContentTokenCount"] = turn.cached_input_tokens
    return usage


def function_call_part(call: ScriptedToolCall) -> dict | None:
    """The functionCall part, or None when the arguments are not a JSON object (a malformed call)."""
    try:
        args = json.loads("".join(call.argument_fragments))
    except ValueError:
        return None
    if not isinstance(args, dict):
        return None
    function_call = {"name": call.name, "args": args}
    if call.id:  # an empty scripted id imitates the Gemini models that send none
        function_call["id"] = call.id
    return {"functionCall": function_call}


def response_chunks(turn: Turn, *, model: str, finish_reason: str = "STOP") -> list[dict]:
    """Every `GenerateContentResponse` of the turn, in order; the last one carries the finish."""
    parts_per_chunk = [[{"text": text}] for text in turn.text]
    malformed = None
    call_parts = []
    for call in turn.tool_calls:
        part = function_call_part(call)
        if part is None:
            malformed = malformed or f"Malformed function call: {call.name}({''.join(call.argument_fragments)})"
        else:
            call_parts.append(part)
    for start in range(0, len(call_parts), CALLS_PER_CHUNK):
        parts_per_chunk.append(call_parts[start : start + CALLS_PER_CHUNK])
    if not parts_per_chunk:
        parts_per_chunk.append([{"text": ""}])
    chunks = []
    for index, parts in enumerate(parts_per_chunk):
        last = index == len(parts_per_chunk) - 1
        output = turn.output_tokens if last else min(turn.output_tokens, index + 1)
        candidate: dict = {"content": {"role": "model", "parts": parts}, "index": 0}
        if last:
            candidate["finishReason"] = "MALFORMED_FUNCTION_CALL" if malformed else finish_reason
            if malformed:
                candidate["finishMessage"] = malformed
        chunks.append(
            {
                "candidates": [candidate],
                "usageMetadata": usage_metadata(turn, output),
                "modelVersion": model,
                "responseId": "imitation-response",
            }
        )
    return chunks


def sse_event(chunk: dict) -> bytes:
    return b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"
