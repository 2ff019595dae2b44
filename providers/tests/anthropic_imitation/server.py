"""The imitation's server: Anthropic's Messages API (`POST /v1/messages`, streamed as SSE or not) and
its model list (`GET /v1/models`) on aiohttp, answering scripted turns.

It checks what the API checks before answering: the key (`x-api-key`, or `Authorization: Bearer` as
the current SDK sends it; 401 `authentication_error` "invalid x-api-key" otherwise), the
`anthropic-version` header and the request body (`checks`). A turn with an `error` and no content
is answered with that status and Anthropic's error body; a turn with content and an `error` streams
the content and then fails with an `event: error`, as an overloaded API does mid-answer.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager

from aiohttp import web

from providers.tests.anthropic_imitation import answers
from providers.tests.anthropic_imitation.checks import request_problem
from providers.tests.imitation_script import Turn
from tests.local_server import listen, serving_in_thread

DEFAULT_KEY = "sk-ant-imitation-0123456789"
DEFAULT_MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]


class AnthropicImitation:
    """A Messages API on 127.0.0.1 that answers the turns it is scripted with, in order.

    `cache_creation_tokens` moves that many of each turn's uncached prompt tokens into
    `cache_creation_input_tokens`; `stop_reason` forces the stop reason of every streamed turn;
    `cut_cleanly` ends a cut stream's HTTP body properly (instead of dropping the connection).
    """

    def __init__(self, *, api_key: str = DEFAULT_KEY, models: list[str] | None = None, default_turn=None):
        self.api_key = api_key
        self.models: list[str] = list(DEFAULT_MODELS if models is None else models)
        self.default_turn: Turn | None = default_turn
        self.requests: list[dict] = []
        self.cache_creation_tokens = 0
        self.stop_reason: str | None = None
        self.cut_cleanly = False
        self.url = ""
        self._turns: deque[Turn] = deque()
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None

    def script(self, turns: list[Turn]) -> None:
        """The next requests answer these turns, one each, in order (replacing any left unanswered)."""
        with self._lock:
            self._turns = deque(turns)

    def next_turn(self) -> Turn | None:
        with self._lock:
            return self._turns.popleft() if self._turns else self.default_turn

    # --- the endpoints ------------------------------------------------------------------------

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = await self.received(request)
        refusal = self.refusal(request, body)
        if refusal is not None:
            return refusal
        turn = self.next_turn()
        if turn is None:
            return error_response(500, "Internal server error")
        if turn.error is not None and not (turn.text or turn.tool_calls):
            await asyncio.sleep(turn.delay)
            return error_response(turn.error.status, turn.error.message, turn.error.headers)
        if not body.get("stream"):
            message = answers.whole_message(turn, body, self.cache_creation_tokens, self.stop_reason)
            return web.json_response(message, headers={"request-id": answers.request_id()})
        return await self.streamed(request, turn, body)

    async def models_list(self, request: web.Request) -> web.Response:
        await self.received(request)
        refusal = self.authentication_refusal(request)
        if refusal is not None:
            return refusal
        limit = int(request.query.get("limit", 20))
        after = request.query.get("after_id")
        start = self.models.index(after) + 1 if after in self.models else 0
        page = self.models[start : start + limit]
        data = [model_info(model) for model in page]
        return web.json_response(
            {
                "data": data,
                "has_more": start + limit < len(self.models),
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            },
            headers={"request-id": answers.request_id()},
        )

    async def received(self, request: web.Request) -> dict:
        """Record the request (every one, refused or not) and return its JSON body ({} for none)."""
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_unparsed": raw.decode(errors="replace")}
        headers = {name.lower(): value for name, value in request.headers.items()}
        with self._lock:
            self.requests.append({"path": request.path, "headers": headers, "body": body})
        return body

    def refusal(self, request: web.Request, body: dict) -> web.Response | None:
        refusal = self.authentication_refusal(request)
        if refusal is not None:
            return refusal
        if "anthropic-version" not in request.headers:
            return error_response(400, "anthropic-version: header is required")
        if "_unparsed" in body:
            return error_response(400, "There was an error parsing the body of your request")
        problem = request_problem(body)
        return error_response(400, problem) if problem else None

    def authentication_refusal(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization", "")
        if key is None and authorization.startswith("Bearer "):
            key = authorization.removeprefix("Bearer ")
        if key == self.api_key:
            return None
        return error_response(401, "invalid x-api-key")

    # --- the stream ---------------------------------------------------------------------------

    async def streamed(self, request: web.Request, turn: Turn, body: dict) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "request-id": answers.request_id(),
            }
        )
        await response.prepare(request)
        for event in self.turn_events(turn, body):
            if event == "delay":
                await asyncio.sleep(turn.delay)
            elif event == "cut":
                return await self.cut(request, response)
            else:
                await response.write(answers.sse(event))
        await response.write_eof()
        return response

    def turn_events(self, turn: Turn, body: dict) -> Iterator[dict | str]:
        """The events of a streamed turn, with the markers "delay" (wait turn.delay) and "cut"."""
        yield answers.message_start(turn, body, self.cache_creation_tokens)
        yield {"type": "ping"}
        index = 0
        if turn.text:
            yield answers.text_block_start(index)
            for sent, chunk in enumerate(turn.text):
                if sent == turn.cut_after:
                    yield "cut"
                    return
                yield "delay"
                yield answers.text_delta(index, chunk)
            yield answers.block_stop(index)
            index += 1
        if turn.cut_after is not None:
            yield "cut"
            return
        yield from self.tool_events(turn, index)
        if turn.error is not None:
            yield answers.error_body(turn.error.status, turn.error.message)
            return
        reason, output_tokens = answers.stop_reason(turn, body, self.stop_reason)
        yield answers.message_delta(reason, output_tokens)
        yield {"type": "message_stop"}

    def tool_events(self, turn: Turn, index: int) -> Iterator[dict | str]:
        for offset, call in enumerate(turn.tool_calls):
            yield answers.tool_block_start(index + offset, call.id, call.name)
            # The API opens every tool's input with an empty fragment.
            yield answers.json_delta(index + offset, "")
            for fragment in call.argument_fragments:
                yield "delay"
                yield answers.json_delta(index + offset, fragment)
            yield answers.block_stop(index + offset)

    async def cut(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        """End the answer halfway: a dropped connection, or (`cut_cleanly`) a body that just stops."""
        if self.cut_cleanly:
            await response.write_eof()
        elif request.transport is not None:
            request.transport.abort()
        return response

    # --- running ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/messages", self.messages)
        app.router.add_get("/v1/models", self.models_list)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner, port = await listen(self.app(), host, port)
        self.url = f"http://{host}:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # Answers still waiting out a delay for a client that gave up end here, not with the loop.
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


def error_response(status: int, message: str, headers: dict | None = None) -> web.Response:
    body = answers.error_body(status, message)
    headers = {"request-id": body["request_id"], **(headers or {})}
    return web.json_response(body, status=status, headers=headers)


def model_info(model: str) -> dict:
    return {
        "type": "model",
        "id": model,
        "display_name": model.replace("-", " ").title(),
        "created_at": "2025-09-29T00:00:00Z",
        "deprecated_at": None,
        "lifecycle": "active",
        "max_input_tokens": 200000,
        "max_tokens": 64000,
    }


def anthropic_imitation_running(**kwargs) -> AbstractContextManager[AnthropicImitation]:
    """An `AnthropicImitation(**kwargs)` served from a thread of its own (its own event loop) for the block."""
    return serving_in_thread(AnthropicImitation(**kwargs), "anthropic-imitation")
