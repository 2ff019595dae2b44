"""The ASGI protocol router: HTTP to Django, WebSockets to the consumers.

Browsers always send an Origin header, so one from a host we do not serve is refused (that is
what stops another site's page from using a visitor's session). Programs without an Origin,
such as API clients, are let through.
"""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.core.asgi import get_asgi_application

from scalpaiboard.daphne_websocket import daphne_websocket_install

http_application = get_asgi_application()

from markets.routing import websocket_urlpatterns  # noqa: E402  (models load after setup)


class BrowserOriginValidator(OriginValidator):
    """Validate Origin against ALLOWED_HOSTS when present; allow clients that send none."""

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or self.validate_origin(parsed_origin)


def websocket_application():
    daphne_websocket_install(max_message_bytes=settings.WS_MAX_FRAME_BYTES)
    return BrowserOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)), settings.ALLOWED_HOSTS)


application = ProtocolTypeRouter({"http": http_application, "websocket": websocket_application()})
