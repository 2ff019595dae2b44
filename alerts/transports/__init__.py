"""Notification transports, one module per channel kind (healthchecks' shape): a ``Transport`` sends one
``Message`` to one channel, or raises ``TransportError`` saying whether trying again may help.

The delivery machinery (``alerts.deliveries``) decides when to send, retries transient errors and
disables the channel on a permanent one; a transport only speaks its service's protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alerts.models import Channel


@dataclass(frozen=True)
class Message:
    """What to send: a one-line ``subject`` (email subject, bold Telegram title), the plain ``text``
    (the alert's rendered message, or a digest's lines), the ``placeholders`` a webhook's body template
    is rendered with (alerts.messages; empty for a digest or a test), and ``webhook_id``, the same on
    every retry and replay of one delivery."""

    subject: str
    text: str
    placeholders: dict = field(default_factory=dict)
    webhook_id: str = ""
    link: str = ""  # the page of the alert, for "open" links in email and Telegram


class TransportError(Exception):
    """A failed send. ``permanent``: trying again cannot help (blocked bot, unknown chat, 410, refused
    target), so the channel is disabled. ``retry_after``: the service said when to try again (seconds)."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


class Paced(Exception):
    """Not now: the service's rate limits (a shared limiter) allow this send only after ``wait`` seconds.
    The delivery goes back in the queue for then, without counting an attempt; bursts queue, never drop."""

    def __init__(self, wait: float):
        super().__init__(f"paced: try again in {wait:.2f} s")
        self.wait = wait


class Transport:
    """Sends messages to channels of one kind."""

    kind = ""

    def send(self, channel: Channel, message: Message) -> None:
        """Send ``message`` to ``channel``; return once the service accepted it, else raise TransportError."""
        raise NotImplementedError


def transport_for(kind: str) -> Transport:
    """The transport of channels of ``kind``."""
    module = import_module(f"alerts.transports.{kind}")
    return module.TRANSPORT
