"""Apprise (https://github.com/caronc/apprise): one URL (``discord://…``, ``slack://…``, ``ntfy://…``,
``json://host/path``…) reaches any of the services Apprise knows. Apprise reports only success or
failure, so every failure is transient.

URLs whose host is a server to connect to (the generic ``json://``, ``xml://`` and ``form://``, and any
dotted host name or address) are refused on loopback and private addresses as webhooks are, when the
channel is saved; Apprise makes the connection itself, so a later DNS answer is not checked again.
"""

from __future__ import annotations

import logging

import apprise

from alerts.models import Channel
from alerts.transports import Message, Transport, TransportError
from alerts.transports.http import host_refusal

GENERIC_HTTP = {"json", "jsons", "xml", "xmls", "form", "forms"}  # their host is always a server
TIMEOUT = 10.0


def apprise_url_refusal(url: object) -> str | None:
    """Why ``url`` is no Apprise URL this server may notify, or None."""
    plugin = apprise.Apprise.instantiate(url) if isinstance(url, str) and url.strip() else None
    if plugin is None:
        return "must be an Apprise URL such as discord://webhook_id/webhook_token or ntfy://topic"
    return _host_refusal(url, plugin)


def _host_refusal(url: str, plugin) -> str | None:
    host = getattr(plugin, "host", None) or ""
    scheme = url.partition("://")[0].lower()
    if scheme in GENERIC_HTTP or "." in host or ":" in host or host == "localhost":
        secure = scheme.endswith("s") or bool(getattr(plugin, "secure", False))
        return host_refusal(host, getattr(plugin, "port", None) or (443 if secure else 80))
    return None


class AppriseTransport(Transport):
    """Sends messages through Apprise to a channel's URL."""

    kind = "apprise"

    def send(self, channel: Channel, message: Message) -> None:
        notifier = apprise.Apprise()
        if not notifier.add(channel.url):
            raise TransportError("Apprise cannot read the channel's URL")
        with apprise.LogCapture(level=logging.WARNING) as log:
            delivered = notifier.notify(body=message.text, title=message.subject, timeout=TIMEOUT)
        if not delivered:
            said = " ".join(line.partition(" - WARNING - ")[2] for line in log.getvalue().splitlines()).strip()
            raise TransportError(f"Apprise: {said or 'the service did not take the notification'}"[:1000])


TRANSPORT = AppriseTransport()
