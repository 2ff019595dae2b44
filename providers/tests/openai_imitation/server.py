"""A local OpenAI-compatible chat-completions server on aiohttp, for the adapter's tests and benchmarks.

It answers `POST /v1/chat/completions` (SSE stream) and `GET /v1/models` as OpenAI does, with the
differences of the provider named by `flavor` (see `wire`), and checks the requests the way the real
servers do where a client gets it wrong: the API key, tool results that answer no call, Mistral's
9-character tool-call ids and its refusal of `stream_options`, a prompt over `context_window`.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager

import orjson
from aiohttp import web

from providers.tests.imitation_script import Turn
from providers.tests.openai_imitation import wire
from tests.local_server import listen, serving_in_thread

MISTRAL_ID = re.compile(r"[a-zA-Z0-9]{9}")
DEFAULT_MODELS = ("gpt-imitation-mini", "gpt-imitation")


class RequestRefused(Exception):
    """The request is answered with this error response instead of a stream."""

    def __init__(self, status: int, body: bytes, headers: dict | None = None):
        super().__init__(status)
        self.response = web.Response(status=status, body=body, headers=headers, content_type="application/json")


class OpenAIImitation:
    """OpenAI's chat completions on 127.0.0.1 (a random free port), answering scripted turns.

    `api_key`: when set, requests must carry it as a bearer token (else 401, whose message repeats
    the key received: harsher than OpenAI, which masks it, so that tests catch a leak).
    """

    def __init__(
        self,
        *,
        flavor: str = "openai",
        api_key: str | None = None,
        models: list[str] | None = None,
        default_turn: Turn | None = None,
        context_window: int | None = None,
        record: bool = True,
    ):
        assert flavor in wire.FLAVORS, flavor
        self.flavor = flavor
        self.api_key = api_key
        self.models = models if models is not None else list(DEFAULT_MODELS)
        self.default_turn = default_turn
        self.context_window = context_window  # in tokens, counted as characters / 4
        self.record = record  # keep `requests` (a long benchmark may not want to)
        self.requests: list[dict] = []
        self._turns: deque[Turn] = deque()
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, turns: list[Turn]) -> None:
        """Answer the next requests with these turns, in order (then `default_turn`)."""
        with self._lock:
            self._turns.extend(turns)

    def reset(self, *, flavor: str = "openai", api_key: str | None = None) -> None:
        """Forget the script, the recorded requests and the switches (between tests)."""
        with self._lock:
            self._turns.clear()
            self.requests.clear()
        self.flavor, self.api_key = flavor, api_key
        self.default_turn = self.context_window = None
        self.models = list(DEFAULT_MODELS)

    def next_turn(self) -> Turn | None:
        with self._lock:
            return self._turns.popleft() if self._turns else self.default_turn

    # --- endpoints ----------------------------------------------------------------------------

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await self.accepted(request)
            turn = self.next_turn()
            if turn is None:
                raise RequestRefused(
                    500, wire.error_body(500, "The server had an error while processing your request.")
                )
            if turn.error is not None:
                error = turn.error
                raise RequestRefused(error.status, self.error_body(error.status, error.message), error.headers)
        except RequestRefused as refused:
            return refused.response
        return await self.stream(request, body, turn)

    async def list_models(self, request: web.Request) -> web.Response:
        try:
            await self.accepted(request, has_body=False)
        except RequestRefused as refused:
            return refused.response
        data = [
            {"id": model, "object": "model", "created": 1700000000, "owned_by": "imitation"} for model in self.models
        ]
        return web.json_response({"object": "list", "data": data}, dumps=lambda value: orjson.dumps(value).decode())

    async def accepted(self, request: web.Request, *, has_body: bool = True) -> dict:
        """Record the request and check it as the real server would; raise `RequestRefused` if not."""
        body = orjson.loads(await request.read()) if has_body else None
        if self.record:
            self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body})
        self.check_key(request.headers.get("Authorization", ""))
        if body is not None:
            self.check_body(body)
        return body

    def check_key(self, authorization: str) -> None:
        if self.api_key is None or authorization == f"Bearer {self.api_key}":
            return
        received = authorization.removeprefix("Bearer ")
        raise RequestRefused(401, self.error_body(401, f"Incorrect API key provided: {received}."))

    def check_body(self, body: dict) -> None:
        if not body.get("model") or not body.get("messages"):
            raise RequestRefused(400, self.error_body(400, "you must provide a model parameter and messages"))
        if not body.get("stream"):
            raise RequestRefused(400, self.error_body(400, "this imitation answers streamed requests only"))
        if self.flavor == "mistral":
            check_mistral(body)
        check_tool_results(body["messages"])
        self.check_context(body["messages"])

    def check_context(self, messages: list[dict]) -> None:
        tokens = sum(len(str(message.get("content") or "")) for message in messages) // 4
        if self.context_window is not None and tokens > self.context_window:
            message = (
                f"This model's maximum context length is {self.context_window} tokens. However, your messages "
                f"resulted in {tokens} tokens. Please reduce the length of the messages."
            )
            raise RequestRefused(400, wire.error_body(400, message, code="context_length_exceeded"))

    def error_body(self, status: int, message: str) -> bytes:
        if self.flavor == "mistral":
            return wire.mistral_error_body(message, code=str(status))
        return wire.error_body(status, message)

    async def stream(self, request: web.Request, body: dict, turn: Turn) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        response.headers["Cache-Control"] = "no-cache"
        await response.prepare(request)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        writer = wire.ChunkWriter(model=body["model"], include_usage=include_usage, flavor=self.flavor)
        for frame in self.frames(writer, turn):
            if turn.delay:
                await asyncio.sleep(turn.delay)
            if frame is None:  # the cut: no more bytes, no end of the chunked body
                request.transport.abort()
                return response
            await response.write(frame)
        await response.write_eof()
        return response

    def frames(self, writer: wire.ChunkWriter, turn: Turn) -> Iterator[bytes | None]:
        """The SSE frames of the turn; None where `cut_after` breaks the connection."""
        comment = self.flavor == "openrouter"
        if comment:
            yield wire.OPENROUTER_COMMENT
        for position, chunk in enumerate(writer.events(turn)):
            if turn.cut_after is not None and position == 1 + turn.cut_after:  # after the role chunk
                if not getattr(turn, "clean_cut", False):
                    yield None
                return
            yield wire.sse(chunk)
            if comment:
                yield wire.OPENROUTER_COMMENT
        yield wire.DONE

    # --- running ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/v1/chat/completions", self.chat_completions)
        app.router.add_get("/v1/models", self.list_models)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner, self.port = await listen(self.app(), host, port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def check_mistral(body: dict) -> None:
    """Mistral's API refuses fields it does not know (422) and tool-call ids not of 9 letters/digits."""
    for field in ("stream_options", "max_completion_tokens"):
        if field in body:
            raise RequestRefused(422, wire.mistral_error_body(wire.extra_forbidden(field, body[field])))
    for message in body["messages"]:
        ids = [call["id"] for call in message.get("tool_calls") or ()]
        ids += [message["tool_call_id"]] if message.get("role") == "tool" else []
        for id_ in ids:
            if not MISTRAL_ID.fullmatch(id_ or ""):
                text = f"Tool call id was {id_} but must be a-z, A-Z, 0-9, with a length of 9."
                raise RequestRefused(400, wire.mistral_error_body(text, code="3280"))


def check_tool_results(messages: list[dict]) -> None:
    """Every tool message answers a call of the assistant message before it, as OpenAI requires."""
    open_calls: set[str] = set()
    for message in messages:
        if message.get("role") == "assistant":
            open_calls = {call["id"] for call in message.get("tool_calls") or ()}
        elif message.get("role") == "tool" and message.get("tool_call_id") not in open_calls:
            text = (
                "Invalid parameter: messages with role 'tool' must be a response to a preceeding message "
                "with 'tool_calls'."
            )
            raise RequestRefused(400, wire.error_body(400, text))


def openai_imitation_running(**kwargs) -> AbstractContextManager[OpenAIImitation]:
    """Serve an `OpenAIImitation(**kwargs)` from a thread of its own (its own event loop)."""
    return serving_in_thread(OpenAIImitation(**kwargs), "openai-imitation")
