"""The /ws origin check: the server's own scheme, host and port, the listed origins, and no others."""

from __future__ import annotations

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ImproperlyConfigured

from scalpaiboard.routing import OriginValidator, allowed_origins, application, origin_parse

pytestmark = [pytest.mark.django_db(transaction=True)]


async def handshake(app, **headers: str) -> bool:
    """Whether ``app`` accepts a handshake with these headers (``x_forwarded_proto`` for X-Forwarded-Proto)."""
    raw = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    communicator = WebsocketCommunicator(app, "/ws", headers=raw)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("http://localhost:8000", "localhost:8000", True),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("http://127.0.0.1", "127.0.0.1:80", True),  # the scheme's default port, implied or written
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # another port of the same host
        ("https://127.0.0.1:8000", "127.0.0.1:8000", False),  # another scheme
        ("http://localhost:8000", "127.0.0.1:8000", False),  # another host
        ("https://evil.example", "127.0.0.1:8000", False),
        ("http://evil.example:8000", "evil.example:8000", False),  # DNS rebinding: not in ALLOWED_HOSTS
        ("null", "127.0.0.1:8000", False),  # sandboxed frames and file: pages
        ("http://127.0.0.1:8000/path", "127.0.0.1:8000", False),
        ("http://127.0.0.1:8000", None, False),  # no Host: no own origin to compare with
        (None, "127.0.0.1:8000", True),  # programs (API clients) send no Origin; browsers always do
    ],
)
async def test_a_browser_origin_must_be_the_servers_own(origin, host, accepted):
    headers = {k: v for k, v in {"origin": origin, "host": host}.items() if v is not None}
    assert await handshake(application, **headers) is accepted


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [("https://127.0.0.1", True), ("https://127.0.0.1:443", True), ("http://127.0.0.1", False)],
)
async def test_behind_a_tls_proxy_the_origin_is_https(origin, accepted):
    """nginx speaks plain HTTP to daphne and names the browser's scheme in X-Forwarded-Proto."""
    headers = {"origin": origin, "host": "127.0.0.1", "x_forwarded_proto": "https"}
    assert await handshake(application, **headers) is accepted


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("https://app.example.com", True),
        ("https://app.example.com:443", True),
        ("http://localhost:3000", True),
        ("http://app.example.com", False),
        ("https://app.example.com:8443", False),
        ("https://other.example.com", False),
    ],
)
async def test_listed_origins_are_allowed_with_their_scheme_and_port(origin, accepted):
    app = OriginValidator(
        AsyncWebsocketConsumer.as_asgi(), allowed_origins(["https://app.example.com", "http://localhost:3000"])
    )
    assert await handshake(app, origin=origin, host="127.0.0.1:8000") is accepted


@pytest.mark.parametrize("listed", ["app.example.com", "ftp://app.example.com", "https://", "https://a.example/x"])
def test_an_allowed_origin_that_is_not_one_stops_start_up_naming_the_variable(listed):
    with pytest.raises(ImproperlyConfigured, match=r"WS_ALLOWED_ORIGINS has '.*': expected origins"):
        allowed_origins(["https://fine.example", listed])


def test_origins_are_compared_with_explicit_ports_and_lower_case_hosts():
    assert origin_parse("HTTPS://Dashboard.Example.COM") == ("https", "dashboard.example.com", 443)
    assert origin_parse("http://127.0.0.1:8000") == ("http", "127.0.0.1", 8000)
    assert origin_parse("http://127.0.0.1:99999") is None
