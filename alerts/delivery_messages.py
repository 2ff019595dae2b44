"""What a delivery says and when it may say it: the message of a firing, the digest of the firings a
channel's quiet hours held, a channel's test message, and when quiet hours in progress end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from alerts.messages import message_placeholders, message_render
from alerts.models import Channel, Delivery
from alerts.transports import Message

# --- quiet hours -----------------------------------------------------------------------------------


def quiet_until(channel: Channel, now: datetime) -> datetime | None:
    """When the channel's quiet hours in progress at ``now`` end, or None outside them (or without any).
    A range whose end is before its start runs across midnight (22:00 to 07:00)."""
    start, end = channel.quiet_start, channel.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(channel.quiet_timezone or "UTC")
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    if start < end:
        inside, day = start <= moment < end, local.date()
    else:
        inside = moment >= start or moment < end
        day = local.date() + timedelta(days=1) if moment >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC) if inside else None


# --- messages --------------------------------------------------------------------------------------


def message_for(delivery: Delivery) -> Message:
    """The message of one delivery: the firing's stored text under a "BTC: crosses up 100" subject, the
    placeholders a webhook's body is rendered with, the delivery's webhook id and the alert's page."""
    event = delivery.event
    alert = event.alert
    facts = {"condition": alert.condition, "coin__symbol": alert.coin.symbol, "timeframe": alert.timeframe}
    shown_id = alert.parent_id or alert.pk  # a watchlist alert's member is told as its watchlist alert
    placeholders = message_placeholders(
        {**facts, "note": alert.note}, alert_id=shown_id, price=event.price, values=event.values, at=event.fired_at
    )
    return Message(
        subject=f"{alert.coin.symbol}: {placeholders['condition']}",
        text=event.message or message_render(alert.message, placeholders),
        placeholders=placeholders,
        webhook_id=delivery.webhook_id,
        link=_link(reverse("alerts:detail", args=[shown_id])),
    )


def message_digest(deliveries: list[Delivery]) -> Message:
    """One message for the deliveries a channel's quiet hours held: a line per firing, oldest first."""
    ordered = sorted(deliveries, key=lambda d: (d.event.fired_at, d.pk))
    zone = ZoneInfo(ordered[0].channel.quiet_timezone or "UTC")
    lines = [f"{d.event.fired_at.astimezone(zone):%H:%M} {d.event.message}" for d in ordered]
    count = len(ordered)
    return Message(
        subject=f"{count} alert{'s' if count != 1 else ''} during quiet hours",
        text="\n".join(lines),
        webhook_id=ordered[0].webhook_id,
        link=_link(reverse("alerts:list")),
    )


def message_test(channel: Channel) -> Message:
    """A test message for ``channel``, with sample placeholders so that a webhook's body renders."""
    sample = {"symbol": "BTC", "price": 97000.5, "condition": "crosses up 97000", "timeframe": "1m", "level": 97000}
    at = timezone.now()
    placeholders = {**sample, "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "note": "test"}
    return Message(
        subject="Scalpaiboard: test message",
        text=f"This is a test: alerts will reach this {channel.kind} channel like this.",
        placeholders=placeholders,
        webhook_id=f"msg_test_{uuid.uuid4().hex}",
        link=_link(reverse("alerts:list")),
    )


def _link(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}" if settings.SITE_URL else ""
