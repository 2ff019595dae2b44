"""A local Amazon Bedrock: ConverseStream (`POST /model/{modelId}/converse-stream`, AWS event-stream
answers) and the control plane's `GET /foundation-models`, on aiohttp, as boto3 talks to them.

Requests must carry a SigV4 `Authorization` header naming the configured access key id (403
UnrecognizedClientException otherwise), and ConverseStream bodies pass Bedrock's own validation
(`validation.py`) or get its 400 ValidationException. Errors before the stream answer with the
status, `x-amzn-ErrorType` and a `{"message": ...}` body; a `Turn` with both `error` and `cut_after`
sends the error inside the stream after that many text chunks, as an event-stream exception.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from aiohttp import web

from providers.tests.bedrock_imitation import eventstream
from providers.tests.bedrock_imitation.validation import converse_problem
from providers.tests.imitation_script import ScriptedError, Turn
from tests.local_server import listen, serving_in_thread

# The error code Bedrock names in `x-amzn-ErrorType` for each status.
ERROR_TYPES = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
# ... and the exception type of the same failure inside a stream.
STREAM_EXCEPTIONS = {
    400: "validationException",
    424: "modelStreamErrorException",
    429: "throttlingException",
    500: "internalServerException",
    503: "serviceUnavailableException",
}


@dataclass(frozen=True)
class BedrockTurn(Turn):
    """A `Turn` with Bedrock's own stop reason (`guardrail_intervened`, `content_filtered`, ...);
    None derives it: `tool_use` with tool calls, `max_tokens` when the output reached the request's
    maxTokens, else `end_turn`."""

    stop_reason: str | None = None


class BedrockImitation:
    """A Bedrock on 127.0.0.1 answering scripted turns; thread-safe, so that a benchmark's many
    concurrent clients can share it."""

    def __init__(
        self,
        *,
        access_key_id: str = "AKIAIMITATION0000001",
        models: list[str] | None = None,
        default_turn: Turn | None = None,
    ):
        self.access_key_id = access_key_id
        self.models = models if models is not None else ["anthropic.claude-3-5-haiku-20241022-v1:0"]
        self.default_turn = default_turn
        self.requests: list[dict] = []
        self._turns: collections.deque[Turn] = collections.deque()
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, turns: list[Turn]) -> None:
        """Queue answers: each request takes the next one (then `default_turn`, then a 500)."""
        with self._lock:
            self._turns.extend(turns)

    def _next_turn(self) -> Turn:
        with self._lock:
            if self._turns:
                return self._turns.popleft()
        return self.default_turn or Turn(error=ScriptedError(500, "no scripted turn left"))

    # --- handlers -----------------------------------------------------------------------------

    async def converse_stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._record(request, body)
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        problem = converse_problem(body)
        if problem:
            return error_response(ScriptedError(400, problem))
        turn = self._next_turn()
        if turn.error is not None and turn.cut_after is None:
            return error_response(turn.error)
        response = web.StreamResponse(
            headers={"Content-Type": "application/vnd.amazon.eventstream", "x-amzn-RequestId": str(uuid.uuid4())}
        )
        await response.prepare(request)
        for frame in converse_frames(turn, body):
            if frame is None:  # the cut: close without the stream's end
                request.transport.close()
                return response
            if turn.delay:
                await asyncio.sleep(turn.delay)
            await response.write(frame)
        await response.write_eof()
        return response

    async def foundation_models(self, request: web.Request) -> web.Response:
        self._record(request, None)
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        return web.json_response({"modelSummaries": [model_summary(model_id) for model_id in self.models]})

    def _record(self, request: web.Request, body: dict | None) -> None:
        record = {"path": request.path, "query": dict(request.query), "headers": dict(request.headers), "body": body}
        with self._lock:
            self.requests.append(record)

    def _auth_refusal(self, request: web.Request) -> web.Response | None:
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("AWS4-HMAC-SHA256 "):
            return error_response(
                ScriptedError(403, "Missing Authentication Token"), "MissingAuthenticationTokenException"
            )
        if f"Credential={self.access_key_id}/" not in authorization:
            message = "The security token included in the request is invalid."
            return error_response(ScriptedError(403, message), "UnrecognizedClientException")
        return None

    # --- running ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/model/{modelId}/converse-stream", self.converse_stream)
        app.router.add_get("/foundation-models", self.foundation_models)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner, self.port = await listen(self.app(), host, port)

    async def close(self) -> None:
        # Answers still sleeping on a Turn's delay (their client gave up) end with the server, at once.
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()


# --- what goes on the wire -------------------------------------------------------------------


def error_response(error: ScriptedError, error_type: str | None = None) -> web.Response:
    """An error before the stream, as Bedrock's REST-JSON protocol answers it."""
    headers = {k: v for k, v in error.headers.items() if k.lower() != "x-amzn-errortype"}
    error_type = (
        error_type
        or _header(error.headers, "x-amzn-ErrorType")
        or ERROR_TYPES.get(error.status, "InternalServerException")
    )
    headers["x-amzn-ErrorType"] = f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"
    headers["x-amzn-RequestId"] = str(uuid.uuid4())
    return web.json_response({"message": error.message}, status=error.status, headers=headers)


def converse_frames(turn: Turn, body: dict) -> Iterator[bytes | None]:
    """The turn's event-stream frames in order, made as they are sent (so the metadata's latency is
    real); None marks where `cut_after` cuts the stream."""
    started = time.monotonic()
    yield eventstream.event("messageStart", {"role": "assistant"})
    index = 0
    for sent, chunk in enumerate(turn.text):
        if turn.cut_after is not None and sent == turn.cut_after:
            yield from _cut(turn)
            return
        yield eventstream.event("contentBlockDelta", {"delta": {"text": chunk}, "contentBlockIndex": 0})
    if turn.text:
        yield eventstream.event("contentBlockStop", {"contentBlockIndex": 0})
        index = 1
    if turn.cut_after is not None and turn.cut_after >= len(turn.text):
        yield from _cut(turn)
        return
    for offset, call in enumerate(turn.tool_calls):
        yield from _tool_use_frames(call, index + offset)
    yield eventstream.event("messageStop", {"stopReason": stop_reason(turn, body)})
    yield metadata_frame(turn, started)


def _cut(turn: Turn) -> Iterator[bytes | None]:
    if turn.error is None:
        yield None
    else:
        exception_type = STREAM_EXCEPTIONS.get(turn.error.status, "internalServerException")
        yield eventstream.exception(exception_type, turn.error.message)


def _tool_use_frames(call, index: int) -> Iterator[bytes]:
    start = {"toolUse": {"toolUseId": call.id, "name": call.name}}
    yield eventstream.event("contentBlockStart", {"start": start, "contentBlockIndex": index})
    for fragment in call.argument_fragments:
        delta = {"toolUse": {"input": fragment}}
        yield eventstream.event("contentBlockDelta", {"delta": delta, "contentBlockIndex": index})
    yield eventstream.event("contentBlockStop", {"contentBlockIndex": index})


def stop_reason(turn: Turn, body: dict) -> str:
    explicit = getattr(turn, "stop_reason", None)
    if explicit:
        return explicit
    if turn.tool_calls:
        return "tool_use"
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
    if max_tokens is not None and turn.output_tokens >= max_tokens:
        return "max_tokens"
    return "end_turn"


def metadata_frame(turn: Turn, started: float) -> bytes:
    """Usage as Converse reports it: `inputTokens` counts the prompt tokens NOT read from the cache."""
    usage = {
        "inputTokens": turn.input_tokens - turn.cached_input_tokens,
        "outputTokens": turn.output_tokens,
        "totalTokens": turn.input_tokens + turn.output_tokens,
        "cacheReadInputTokens": turn.cached_input_tokens,
        "cacheWriteInputTokens": 0,
    }
    latency = int((time.monotonic() - started) * 1000)
    return eventstream.event("metadata", {"usage": usage, "metrics": {"latencyMs": latency}})


def model_summary(model_id: str) -> dict:
    provider = model_id.split(".")[0]
    return {
        "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": model_id,
        "providerName": provider,
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "inferenceTypesSupported": ["ON_DEMAND"],
    }


def _header(headers: dict, name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def bedrock_imitation_running(**kwargs) -> AbstractContextManager[BedrockImitation]:
    """A started `BedrockImitation(**kwargs)`, served from a thread of its own for the block."""
    return serving_in_thread(BedrockImitation(**kwargs), "bedrock-imitation")
