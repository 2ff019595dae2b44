"""Webhooks, signed as Standard Webhooks sign them (https://www.standardwebhooks.com/): a POST of the
channel's body template rendered with the firing's placeholders, with ``webhook-id`` (the same on every
retry and replay, so receivers can drop a repeat), ``webhook-timestamp`` and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` with the secret's key).

2xx: delivered. 410 Gone: the receiver asks to be sent no more (permanent). 429, 5xx and anything
else: try again later, when Retry-After says if it does.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from alerts.messages import message_render
from alerts.models import Channel
from alerts.transports import Message, Transport, TransportError
from alerts.transports.http import http_post

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24  # generated secrets; a given one needs at least MIN_SECRET_BYTES
MIN_SECRET_BYTES = 16
TIMEOUT = 10.0


def webhook_body(channel: Channel, message: Message) -> tuple[str, str]:
    """The body posted to ``channel`` and its content type: the channel's template rendered with the
    firing's placeholders (the message's text without a template, or when it renders to nothing);
    JSON is sent as ``application/json``, anything else as plain text."""
    body = message_render(channel.body, message.placeholders) if channel.body else ""
    if not body.strip():
        body = message.text
    try:
        json.loads(body)
    except ValueError:
        return body, "text/plain; charset=utf-8"
    return body, "application/json"


def webhook_headers(secret: str, webhook_id: str, body: str, *, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers signing ``body`` with ``secret`` (``whsec_…``)."""
    timestamp = now or datetime.now(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, timestamp, body),
    }


def webhook_secret_new() -> str:
    """A new signing secret: ``whsec_`` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_secret_refusal(secret: str) -> str | None:
    """Why ``secret`` cannot sign webhooks, or None: it must be ``whsec_`` + base64 of 16 bytes or more."""
    allowed = f"must be {SECRET_PREFIX} followed by the base64 of at least {MIN_SECRET_BYTES} random bytes"
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        return f"{allowed} (leave it out to have one generated)"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return f"{allowed}; the part after {SECRET_PREFIX} is not base64"
    if len(key) < MIN_SECRET_BYTES:
        return f"{allowed}; this one has {len(key)}"
    return None


class WebhookTransport(Transport):
    """POSTs signed messages to a channel's URL (``timeout`` seconds for an answer)."""

    kind = "webhook"

    def __init__(self, timeout: float = TIMEOUT):
        self.timeout = timeout

    def send(self, channel: Channel, message: Message) -> None:
        body, content_type = webhook_body(channel, message)
        # A test message has no delivery: its id is its own (Standard Webhooks require one).
        webhook_id = message.webhook_id or f"msg_test_{secrets.token_hex(8)}"
        try:
            headers = {"Content-Type": content_type, **webhook_headers(channel.secret, webhook_id, body)}
        except (ValueError, EmptyWebhookSecretError):  # binascii.Error is a ValueError
            raise TransportError(
                "the channel's secret cannot sign: it is not whsec_ + base64", permanent=True
            ) from None
        response = http_post(channel.url, content=body.encode(), headers=headers, timeout=self.timeout)
        _raise_for(response)


def _raise_for(response: httpx.Response) -> None:
    """Nothing for a 2xx; else TransportError, permanent for 410, with Retry-After when given."""
    status = response.status_code
    if 200 <= status < 300:
        return
    answer = " ".join(response.text[:200].split())
    said = f"HTTP {status} {response.reason_phrase}" + (f": {answer}" if answer else "")
    if status == 410:
        raise TransportError(f"{said} (the receiver asks to be sent no more)", permanent=True)
    retry_after = _retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
    raise TransportError(said, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (it is a number of seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


TRANSPORT = WebhookTransport()
