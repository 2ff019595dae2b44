"""The imitation's aiohttp server: Gemini API and Vertex AI `streamGenerateContent` (SSE), their model
lists, and the OAuth token endpoint a Vertex service account trades a signed JWT at.

Gemini paths authenticate by `x-goog-api-key` (a wrong key gets Google's 400 API_KEY_INVALID), Vertex
paths by an `Authorization: Bearer` token this server issued. Each request takes the next scripted
`Turn` under a lock, so many concurrent clients (a benchmark) can share one script.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from contextlib import AbstractContextManager
from urllib.parse import parse_qs

from aiohttp import web

from providers.tests.google_imitation import service_account, wire
from providers.tests.imitation_script import Turn
from tests.local_server import listen, serving_in_thread

VERTEX_PREFIX = "/v1beta1/projects/{project}/locations/{location}/publishers/google/models/"
GEMINI_MODELS = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview"]


class GoogleImitation:
    """Gemini and Vertex AI on 127.0.0.1, answering scripted turns in Google's wire format."""

    def __init__(self, *, api_key: str = "imitation-key", default_turn: Turn | None = None):
        self.api_key = api_key
        self.default_turn = default_turn
        self.models: list[str] = list(GEMINI_MODELS)
        self.requests: list[dict] = []
        self.token_requests: list[dict] = []
        # Gemini's finishReason for the answers while set (MAX_TOKENS, SAFETY...); STOP otherwise.
        self.finish_reason: str | None = None
        self._turns: deque[Turn] = deque()
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._public_keys: dict = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def script(self, turns: list[Turn]) -> None:
        with self._lock:
            self._turns.extend(turns)

    def service_account_json(self, project: str = "imitation-project") -> str:
        """A service-account key file whose token_uri is this server (which will check its JWTs)."""
        info, key_id, public_key = service_account.generate(project=project, token_uri=self.token_uri)
        self._public_keys[key_id] = public_key
        return json.dumps(info)

    def _next_turn(self) -> Turn | None:
        with self._lock:
            return self._turns.popleft() if self._turns else self.default_turn

    # --- the app ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        for version in ("v1beta", "v1"):  # google-genai 3 asks v1 unless told v1beta
            app.router.add_post(f"/{version}/models/{{target}}", self.gemini_generate)
            app.router.add_get(f"/{version}/models", self.gemini_models)
        app.router.add_post(VERTEX_PREFIX + "{target}", self.vertex_generate)
        app.router.add_get("/v1beta1/publishers/google/models", self.vertex_models)
        app.router.add_post("/token", self.token)
        return app

    async def _record(self, request: web.Request) -> dict:
        raw = await request.read()
        record = {
            "path": request.path,
            "query": dict(request.query),
            "headers": dict(request.headers),
            "body": json.loads(raw) if raw else None,
        }
        self.requests.append(record)
        return record

    def _api_key_refused(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if key == self.api_key:
            return None
        details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
        body = wire.error_body(400, "API key not valid. Please pass a valid API key.", details=details)
        return web.json_response(body, status=400)

    def _token_refused(self, request: web.Request) -> web.Response | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self._tokens:
            return None
        message = "Request had invalid authentication credentials. Expected OAuth 2 access token."
        return web.json_response(wire.error_body(401, message), status=401)

    async def gemini_generate(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return self._api_key_refused(request) or await self._generate(request)

    async def vertex_generate(self, request: web.Request) -> web.StreamResponse:
        await self._record(request)
        return self._token_refused(request) or await self._generate(request)

    async def gemini_models(self, request: web.Request) -> web.Response:
        await self._record(request)
        models = [{"name": f"models/{m}", "supportedGenerationMethods": generation_methods(m)} for m in self.models]
        return self._api_key_refused(request) or web.json_response({"models": models})

    async def vertex_models(self, request: web.Request) -> web.Response:
        await self._record(request)
        names = [{"name": f"publishers/google/models/{m}"} for m in self.models]
        return self._token_refused(request) or web.json_response({"publisherModels": names})

    async def token(self, request: web.Request) -> web.Response:
        form = parse_qs((await request.read()).decode())
        assertion = form.get("assertion", [""])[0]
        self.token_requests.append({"grant_type": form.get("grant_type", [""])[0], "assertion": assertion})
        claims = service_account.verified_claims(assertion, self._public_keys)
        if claims is None:
            refusal = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            return web.json_response(refusal, status=400)
        token = service_account.new_access_token()
        self._tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    async def _generate(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["target"].partition(":")
        turn = self._next_turn()
        if turn is None:
            return web.json_response(wire.error_body(500, "Internal error encountered."), status=500)
        if turn.error is not None:
            headers = {k: v for k, v in turn.error.headers.items() if k.lower() != "retry-after"}
            return web.json_response(wire.scripted_error_body(turn.error), status=turn.error.status, headers=headers)
        if method != "streamGenerateContent" or request.query.get("alt") != "sse":
            return web.json_response(wire.error_body(404, f"Method {method} is not imitated."), status=404)
        return await self._stream(request, turn, model)

    async def _stream(self, request: web.Request, turn: Turn, model: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunks = wire.response_chunks(turn, model=model, finish_reason=self.finish_reason or "STOP")
        try:
            for index, chunk in enumerate(chunks):
                if turn.cut_after is not None and index >= turn.cut_after:
                    request.transport.close()  # no terminating chunk: the client sees a cut stream
                    return response
                if turn.delay:
                    await asyncio.sleep(turn.delay)
                await response.write(wire.sse_event(chunk))
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away (its timeout); nothing left to answer
        return response

    # --- running ------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._runner, self.port = await listen(self.app(), host, port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def generation_methods(model: str) -> list[str]:
    """The Gemini API lists its embedding models next to the chat ones, with other methods."""
    return ["embedContent"] if "embedding" in model else ["generateContent", "countTokens"]


def google_imitation_running(**kwargs) -> AbstractContextManager[GoogleImitation]:
    """A started `GoogleImitation(**kwargs)`, served from a thread with its own event loop."""
    return serving_in_thread(GoogleImitation(**kwargs), "google-imitation")
