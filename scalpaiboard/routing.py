"""The ASGI protocol router: HTTP to Django, WebSockets to the consumers.

Browsers always send an Origin header, so a handshake from a page of another origin is refused
(that is what stops another site's page from using a visitor's session). Allowed are the server's
own origin, the scheme, host and port the handshake was addressed to, with a host in
ALLOWED_HOSTS, and the origins in WS_ALLOWED_ORIGINS. Programs without an Origin, such as API
clients, are let through.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured
from django.http.request import split_domain_port, validate_host

from scalpaiboard.daphne_websocket import daphne_websocket_install

http_application = get_asgi_application()

from markets.routing import websocket_urlpatterns  # noqa: E402  (models load after setup)

Origin = tuple[str, str, int]  # scheme, host, port
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_parse(text: str) -> Origin | None:
    """(scheme, host, port) of an http(s) origin, the port made explicit; None if ``text`` is not one."""
    try:
        url = urlsplit(text.strip())
        port = url.port
    except ValueError:
        return None
    scheme = url.scheme.lower()
    if scheme not in DEFAULT_PORTS or not url.hostname or url.username or url.path not in ("", "/"):
        return None
    return scheme, url.hostname.removesuffix("."), port or DEFAULT_PORTS[scheme]


def request_origin(scope: dict) -> Origin | None:
    """The origin a handshake was addressed to: its scheme, and its Host if ALLOWED_HOSTS has it."""
    domain, port = split_domain_port(header(scope, b"host") or "")
    allowed_hosts = settings.ALLOWED_HOSTS or ([".localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed_hosts):
        return None
    scheme = request_scheme(scope)
    return scheme, domain.strip("[]"), int(port) if port else DEFAULT_PORTS[scheme]


def request_scheme(scope: dict) -> str:
    """http or https, as the browser connected: the proxy's X-Forwarded-Proto, else the server's scope.

    Trusting the header is safe for this check: it protects browsers, and a page cannot set
    headers on a WebSocket handshake (nginx overwrites the header anyway).
    """
    scheme = header(scope, b"x-forwarded-proto") or scope.get("scheme") or "http"
    return "https" if scheme.partition(",")[0].strip().lower() in ("https", "wss") else "http"


def header(scope: dict, name: bytes) -> str | None:
    return next((value.decode("latin1") for key, value in scope.get("headers", []) if key == name), None)


class OriginValidator:
    """Let a handshake through when it has no Origin or an allowed one; refuse it (403) otherwise."""

    def __init__(self, application, allowed_origins: frozenset[Origin]):
        self.application = application
        self.allowed_origins = allowed_origins

    async def __call__(self, scope, receive, send):
        if self.allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)

    def allowed(self, scope: dict) -> bool:
        text = header(scope, b"origin")
        if text is None:
            return True
        origin = origin_parse(text)
        return origin is not None and (origin in self.allowed_origins or origin == request_origin(scope))


def allowed_origins(listed: list[str]) -> frozenset[Origin]:
    """WS_ALLOWED_ORIGINS parsed; one that is not an origin stops start-up naming the variable."""
    parsed = {text: origin_parse(text) for text in listed}
    bad = [text for text, origin in parsed.items() if origin is None]
    if bad:
        raise ImproperlyConfigured(
            f"Environment variable WS_ALLOWED_ORIGINS has {', '.join(map(repr, bad))}: expected origins "
            "such as https://dashboard.example.com or http://localhost:3000 (scheme, host, optional port)."
        )
    return frozenset(parsed.values())


def websocket_application():
    daphne_websocket_install(max_message_bytes=settings.WS_MAX_FRAME_BYTES)
    routes = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
    return OriginValidator(routes, allowed_origins(settings.WS_ALLOWED_ORIGINS))


application = ProtocolTypeRouter({"http": http_application, "websocket": websocket_application()})
