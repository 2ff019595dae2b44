"""Reads of alerts, their firings and notifications for pages, the API and the assistant's tools; and
their JSON shapes (the API contract), with every time in ISO 8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import QuerySet
from django.http import Http404

from alerts.conditions import condition_words
from alerts.models import Alert, AlertEvent, Notification


def alerts_list(*, user) -> QuerySet[Alert]:
    """The user's alerts with their coins, newest first (filter them with alerts.filters.AlertFilter)."""
    return Alert.objects.filter(user=user).select_related("coin").defer("engine_state")


def alert_get(*, user, id: int) -> Alert:
    """The user's alert ``id``; Http404 when there is none, or it is someone else's."""
    try:
        return alerts_list(user=user).get(pk=id)
    except Alert.DoesNotExist:
        raise Http404(f"You have no alert {id}. GET /api/alerts lists yours.") from None


def alert_events(*, alert: Alert) -> QuerySet[AlertEvent]:
    """The alert's firings, newest first."""
    return AlertEvent.objects.filter(alert=alert).order_by("-fired_at", "-id")


def notifications_list(*, user, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's notifications, newest first; only the unread (True) or read (False) ones if asked."""
    found = Notification.objects.filter(user=user)
    if unread is not None:
        found = found.filter(read_at__isnull=unread)
    return found


def notifications_unread_count(*, user) -> int:
    """How many of the user's notifications are unread (the bell's number)."""
    return Notification.objects.filter(user=user, read_at=None).count()


def iso_ms(moment: datetime | None) -> str | None:
    """``2026-12-07T04:00:00.000Z``; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_as_json(alert: Alert) -> dict:
    """The alert as the API answers it: the body it was created with, plus its state."""
    return {
        "id": alert.pk,
        "symbol": alert.coin.symbol,
        "condition": alert.condition,
        "condition_text": condition_words(alert.condition),
        "frequency": alert.frequency,
        "timeframe": alert.timeframe,
        "cooldown": alert.cooldown,
        "expires_at": iso_ms(alert.expires_at),
        "message": alert.message,
        "note": alert.note,
        "status": alert.status,
        "created_at": iso_ms(alert.created_at),
        "last_fired_at": iso_ms(alert.last_fired_at),
        "fire_count": alert.fire_count,
    }


def event_as_json(event: AlertEvent) -> dict:
    """One firing as GET /api/alerts/{id}/history answers it."""
    return {
        "id": event.pk,
        "fired_at": iso_ms(event.fired_at),
        "price": event.price,
        "bar_open": iso_ms(event.bar_open),
        "values": event.values,
        "message": event.message,
    }


def notification_as_json(notification: Notification) -> dict:
    """One notification as GET /api/notifications answers it."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "alert_id": notification.alert_id,
        "symbol": notification.symbol,
        "message": notification.message,
        "price": notification.price,
        "fired_at": iso_ms(notification.fired_at),
        "created_at": iso_ms(notification.created_at),
        "read_at": iso_ms(notification.read_at),
        "unread": notification.unread,
    }
