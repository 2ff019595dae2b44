"""What the settings page tests share: a local OpenAI-compatible server, the signed-in client, users
without a password (quicker than conftest's, which hash one) and readers of the rendered HTML.

A test module takes a fixture from here by naming it at module level (``user = page_fixtures.user``);
its ``user`` and ``other`` then stand in for conftest's.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from decimal import Decimal
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from providers.budgets import month_start
from providers.models import ProviderConfig, ProviderMonth
from providers.services import provider_create

PAGE = "/settings/ai"
HTMX = {"HTTP_HX_REQUEST": "true"}
MODEL_LIST = {**HTMX, "HTTP_HX_TARGET": "model-list"}  # the model step's live list
KEY = "sk-live-Zq8Wv3SECRETk9Jp2RxT7a1b2"  # what must never be rendered back
HINT = "sk-…a1b2"


def needs_openai_adapter():
    """The OpenAI-compatible adapter (providers/adapters/openai_family) is built on its own branch."""
    return pytest.importorskip("providers.adapters.openai_family", reason="the OpenAI-compatible adapter")


# --- a local OpenAI-compatible server: GET /v1/models and streamed POST /v1/chat/completions --------


class ChatCompletions(BaseHTTPRequestHandler):
    """Speaks the OpenAI wire format: Bearer auth, the model list, and chat completions as SSE with
    the include_usage chunk last; a wrong key gets OpenAI's 401 error body."""

    key = KEY
    models = ("gpt-4o-mini", "gpt-4.1-nano")

    def log_message(self, *args) -> None:  # quiet test output
        pass

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.key}":
            return True
        error = {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}
        self._json(401, {"error": error})
        return False

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            return self._json(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
        if self._authorised():
            data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "openai"} for m in self.models]
            self._json(200, {"object": "list", "data": data})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self._authorised():
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1700000000, "model": body["model"]}
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "OK"}, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {**base, "choices": [], "usage": {"prompt_tokens": 14, "completion_tokens": 1, "total_tokens": 15}},
        ]
        for chunk in chunks:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def openai_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> str:
    """An address where nothing listens: connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(username="trader", email="trader@example.com")


@pytest.fixture
def other(db, django_user_model):
    return django_user_model.objects.create_user(username="other", email="other@example.com")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def provider(user, **fields) -> ProviderConfig:
    data = {"kind": "openai", "name": "My OpenAI", "model": "gpt-4o-mini", "api_key": KEY, **fields}
    return provider_create(user=user, data=data)


def html_of(response) -> str:
    return unescape(response.content.decode())


def field_errors(html: str, name: str) -> list[str]:
    """The error texts under field ``name`` (its <label class="field invalid">)."""
    match = re.search(rf'<label class="field invalid">(?:(?!</label>).)*?name="{name}"(.*?)</label>', html, re.S)
    return re.findall(r'<small class="error">(.*?)</small>', match[1]) if match else []


def spend(config: ProviderConfig, amount: str) -> None:
    ProviderMonth.objects.create(provider=config, month=month_start(), spent_usd=Decimal(amount))
