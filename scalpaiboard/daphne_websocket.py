"""Two fixes to how daphne (through autobahn) ends WebSocket connections, so /ws closes say why.

- A message over the size limit: autobahn "fails" the connection, and by default (``failByDrop``)
  that means dropping TCP without a close frame, which clients see as a network error (1006).
  Here it sends a close frame with 1009 (message too big), and the limit is WS_MAX_FRAME_BYTES,
  enforced from the frame header on, before the payload is buffered.
- An application's ``websocket.close`` with a code from RFC 6455, such as 1008 or 1009: daphne
  passes it to autobahn's ``sendClose``, which only takes 1000 and 3000-4999 and raises, so the
  application crashes and the client gets 1011 instead (daphne issue #374, autobahn issue #1642).

autobahn reads its options from the protocol class before the factory's (``_connectionMade``), so
a protocol subclass installed as daphne's factory protocol carries both. The ASGI application is
imported before daphne builds its factory, so installing at import is in time.
"""

from __future__ import annotations

from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

# Codes an endpoint may send in a close frame (RFC 6455 7.4.1 and the IANA registry) that autobahn's
# sendClose refuses; 1000 and 3000-4999 go through sendClose as before.
RFC_CLOSE_CODES = frozenset({1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 1013, 1014})


class ScalpaiboardWebSocketProtocol(WebSocketProtocol):
    """daphne's WebSocket protocol, failing with close frames and sending the RFC close codes."""

    failByDrop = False

    def serverClose(self, code=None):
        if code in RFC_CLOSE_CODES:
            self.sendCloseFrame(code=code)
        else:
            super().serverClose(code=code)


def daphne_websocket_install(*, max_message_bytes: int) -> None:
    """Make daphne's WebSocket servers in this process use the protocol above with this size limit."""
    ScalpaiboardWebSocketProtocol.maxMessagePayloadSize = max_message_bytes
    WebSocketFactory.protocol = ScalpaiboardWebSocketProtocol
