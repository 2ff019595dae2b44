"""API errors: JSON on every path (500s included, with the request id that the log line carries),
request bodies nested too deep refused with a 400 on every endpoint that takes a body."""

from __future__ import annotations

import io
import logging
import re

import pytest
from django.test import Client
from rest_framework.parsers import JSONParser

from scalpaiboard.accounts.models import User
from scalpaiboard.api import MAX_JSON_DEPTH, json_depth
from scalpaiboard.request_id import RequestIdFilter
from scalpaiboard.tests.routes import routes

pytestmark = pytest.mark.django_db

BODY_METHODS = ("post", "put", "patch")


def body_methods(view) -> list[str]:
    """The methods with a body that a DRF view answers (ViewSets map them to actions)."""
    cls = getattr(view, "cls", None)
    if cls is None:
        return []
    actions = getattr(view, "actions", None)
    return [m for m in BODY_METHODS if (m in actions if actions else hasattr(cls, m))]


def takes_json(view, method: str) -> bool:
    """Whether the endpoint parses JSON bodies (a CSV import takes text/csv and forms: JSON is a 415)."""
    actions = getattr(view, "actions", None) or {}
    handler = getattr(view.cls, actions.get(method, method), None)
    parsers = getattr(handler, "kwargs", {}).get("parser_classes") or view.cls.parser_classes
    return any(issubclass(parser, JSONParser) for parser in parsers)


ROUTES = [(url, view) for url, view in routes() if url.startswith("/api/")]
BODY_ENDPOINTS = [(url, method) for url, view in ROUTES for method in body_methods(view) if takes_json(view, method)]
NOT_JSON_ENDPOINTS = [
    (url, method) for url, view in ROUTES for method in body_methods(view) if not takes_json(view, method)
]


def test_the_body_endpoints_are_found():
    assert {("/api/auth/token/", "post"), ("/api/auth/token/refresh/", "post")} <= set(BODY_ENDPOINTS)


def test_the_endpoints_that_take_no_json_are_the_csv_import_only():
    assert NOT_JSON_ENDPOINTS == [("/api/portfolio/transactions/import", "post")]


@pytest.fixture
def signed_in(client):
    """A signed-in client: endpoints that need credentials check them before they read the body."""
    client.force_login(User.objects.create_user(username="deep", email="deep@example.com"))
    return client


@pytest.mark.parametrize(("url", "method"), NOT_JSON_ENDPOINTS)
def test_a_json_body_where_none_is_taken_is_a_415_in_json(signed_in, url, method):
    response = getattr(signed_in, method)(url, "[" * 2000 + "]" * 2000, content_type="application/json")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/json" and "detail" in response.json()


@pytest.mark.parametrize(("url", "method"), BODY_ENDPOINTS)
def test_json_nested_2000_deep_is_a_400_on_every_body_endpoint(signed_in, url, method):
    body = "[" * 2000 + "]" * 2000
    response = getattr(signed_in, method)(url, body, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Request body: JSON nested 2000 levels deep; at most 32 levels of arrays and objects are allowed."
    }


def test_json_at_the_depth_limit_reaches_the_view(client):
    nested = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    body = '{"username": "trader", "password": ' + nested + "}"
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert "password" in response.json()  # the serializer's answer: a field error, not a parse error


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert json_depth(b'{"a": "[[[[{{{{", "b": ["\\"]]]]", [1]]}') == 3
    assert json_depth(b"42") == 0


def test_a_body_over_the_upload_limit_is_a_json_400_naming_the_setting(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"username": "trader", "password": "' + "x" * 1000 + '"}'
    response = client.post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Bad request: Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE."


def test_malformed_json_is_a_400_naming_the_body(client):
    response = client.post("/api/auth/token/", b'{"username": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Request body: not valid JSON")


# --- JSON errors and the request id -------------------------------------------------------------


@pytest.fixture
def log_lines():
    """What the configured console handler writes (its filter adds the request id), as text."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_an_api_500_is_json_with_the_request_id_of_its_log_line(monkeypatch, log_lines):
    def broken(**kwargs):
        raise RuntimeError("screener exploded")

    monkeypatch.setattr("markets.api.views.coins_screen", broken)
    response = Client(raise_request_exception=False).get("/api/screener")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    request_id = response["X-Request-ID"]
    assert response.json() == {
        "detail": "Internal server error. Quote the request_id when you report it.",
        "request_id": request_id,
    }
    logged = log_lines.getvalue()
    assert f"ERROR django.request [{request_id}]: Internal Server Error: /api/screener" in logged
    assert "RuntimeError: screener exploded" in logged  # the traceback follows the line


def test_a_page_500_is_still_the_html_page(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("markets.views.market_overview", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/no-such-thing", 404),
        ("delete", "/api/coins", 405),
        ("post", "/api/auth/me", 401),
        ("get", "/api/auth/token/", 405),
        ("post", "/api/health", 403),  # a plain Django view: the CSRF check answers
    ],
)
def test_api_errors_are_json_with_a_detail(method, path, status):
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert response["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept_and_logged(client, log_lines):
    response = client.get("/api/no-such-thing", HTTP_X_REQUEST_ID="0123456789abcdef0123456789abcdef")
    assert response["X-Request-ID"] == "0123456789abcdef0123456789abcdef"
    assert response.json()["request_id"] == "0123456789abcdef0123456789abcdef"
    assert "WARNING django.request [0123456789abcdef0123456789abcdef]: Not Found: /api/no-such-thing" in (
        log_lines.getvalue()
    )


@pytest.mark.parametrize("incoming", ["", "short", "has space in it", "x" * 65, "line\nbreak-0123456789"])
def test_an_insane_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/api/coins", HTTP_X_REQUEST_ID=incoming)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
