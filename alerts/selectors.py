"""Reads of alerts, their firings, notifications, notification channels and deliveries for pages, the
API and the assistant's tools; and their JSON shapes (the API contract), with every time in ISO 8601 UTC
with milliseconds and ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Count, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.http import Http404

from alerts.conditions import condition_words
from alerts.models import Alert, AlertEvent, Channel, Delivery, Notification

# An alert's channels as its answer lists them (their ids), in one query for a whole page of alerts.
CHANNEL_IDS = Prefetch("channels", queryset=Channel.objects.only("id").order_by("id"))


def alerts_list(*, user, with_channels: bool = False) -> QuerySet[Alert]:
    """The user's alerts with their coins (or watchlists), newest first (filter them with
    alerts.filters.AlertFilter); a watchlist alert with its members' firings summed up (``members_*``),
    its members themselves left out. ``with_channels``: their channels' ids fetched too, for answers
    (alert_as_json)."""
    alerts = Alert.objects.filter(user=user, parent=None).select_related("coin", "watchlist").defer("engine_state")
    alerts = alerts.annotate(**_members_summary())
    return alerts.prefetch_related(CHANNEL_IDS) if with_channels else alerts


def _members_summary() -> dict:
    """Per alert, in the same query: its members' count, last firing and firings (None without members)."""
    members = Alert.objects.filter(parent=OuterRef("pk")).order_by().values("parent")

    def of(aggregate):
        return Subquery(members.annotate(value=aggregate).values("value")[:1])

    return {
        "members_count": of(Count("pk")),
        "members_last_fired_at": of(Max("last_fired_at")),
        "members_fire_count": of(Sum("fire_count")),
    }


def alert_get(*, user, id: int) -> Alert:
    """The user's alert ``id``; Http404 when there is none, or it is someone else's."""
    try:
        return alerts_list(user=user).get(pk=id)
    except Alert.DoesNotExist:
        raise Http404(f"You have no alert {id}. GET /api/alerts lists yours.") from None


def alert_events(*, alert: Alert) -> QuerySet[AlertEvent]:
    """The alert's firings (a watchlist alert's: its members', each on its coin), newest first, with their coin."""
    mine = Q(alert__parent=alert) if alert.watchlist_id else Q(alert=alert)
    return AlertEvent.objects.filter(mine).select_related("alert__coin").order_by("-fired_at", "-id")


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
        "symbol": alert.coin.symbol if alert.coin_id else None,
        "watchlist": alert.watchlist_id,
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
        **_firings_summary(alert),
        "channels": sorted(channel.pk for channel in alert.channels.all()),
        "urgent": alert.urgent,
    }


def _firings_summary(alert: Alert) -> dict:
    """When it last fired and how often: a watchlist alert's over its members (summed up by alerts_list;
    a new one has none)."""
    if not alert.watchlist_id:
        return {"last_fired_at": iso_ms(alert.last_fired_at), "fire_count": alert.fire_count}
    return {
        "last_fired_at": iso_ms(getattr(alert, "members_last_fired_at", None)),
        "fire_count": getattr(alert, "members_fire_count", None) or 0,
    }


def event_as_json(event: AlertEvent) -> dict:
    """One firing as GET /api/alerts/{id}/history answers it, with the coin it fired on."""
    return {
        "id": event.pk,
        "symbol": event.alert.coin.symbol,
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


# --- Channels and deliveries -----------------------------------------------------------------------


def channels_list(*, user) -> QuerySet[Channel]:
    """The user's notification channels, oldest first."""
    return Channel.objects.filter(user=user)


def channel_get(*, user, id: int) -> Channel:
    """The user's channel ``id``; Http404 when there is none, or it is someone else's."""
    try:
        return channels_list(user=user).get(pk=id)
    except Channel.DoesNotExist:
        raise Http404(f"You have no channel {id}. GET /api/notifications/channels lists yours.") from None


def deliveries_list(
    *, user, state: str | None = None, channel: int | None = None, alert: int | None = None
) -> QuerySet[Delivery]:
    """The user's deliveries (the delivery log), newest first, with their channel, firing and coin in
    the same query; only those in ``state``, to ``channel`` or of ``alert`` if asked."""
    found = Delivery.objects.filter(channel__user=user).select_related("channel", "event__alert__coin")
    if state:
        found = found.filter(state=state)
    if channel:
        found = found.filter(channel_id=channel)
    if alert:
        found = found.filter(Q(event__alert_id=alert) | Q(event__alert__parent_id=alert))
    return found


def delivery_get(*, user, id: int) -> Delivery:
    """The user's delivery ``id``; Http404 when there is none, or it is to someone else's channel."""
    try:
        return deliveries_list(user=user).get(pk=id)
    except Delivery.DoesNotExist:
        raise Http404(f"You have no delivery {id}. GET /api/notifications/deliveries lists yours.") from None


def quiet_hours_as_json(channel: Channel) -> dict | None:
    """``{"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"}``, or None without quiet hours."""
    if channel.quiet_start is None or channel.quiet_end is None:
        return None
    return {
        "start": channel.quiet_start.strftime("%H:%M"),
        "end": channel.quiet_end.strftime("%H:%M"),
        "timezone": channel.quiet_timezone,
    }


# Each kind's own fields in its answer (a webhook's secret only once, when it is created).
KIND_FIELDS = {"email": ("address",), "telegram": ("chat_id",), "webhook": ("url", "body"), "apprise": ("url",)}


def channel_as_json(channel: Channel, *, with_secret: bool = False) -> dict:
    """The channel as the API answers it; ``with_secret``: a webhook's secret too (the create answer)."""
    answer = {"id": channel.pk, "kind": channel.kind, "name": channel.name}
    answer.update({name: getattr(channel, name) for name in KIND_FIELDS.get(channel.kind, ())})
    if with_secret and channel.kind == Channel.Kind.WEBHOOK:
        answer["secret"] = channel.secret
    answer.update(
        enabled=channel.enabled,
        disabled_reason=channel.disabled_reason,
        quiet_hours=quiet_hours_as_json(channel),
        created_at=iso_ms(channel.created_at),
    )
    return answer


def delivery_as_json(delivery: Delivery) -> dict:
    """One delivery as GET /api/notifications/deliveries answers it."""
    event = delivery.event
    return {
        "id": delivery.pk,
        "channel": delivery.channel_id,
        "channel_kind": delivery.channel.kind,
        "alert": event.alert.parent_id or event.alert_id,  # a watchlist alert's member: the watchlist alert
        "event": event.pk,
        "symbol": event.alert.coin.symbol,
        "message": event.message,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": iso_ms(delivery.next_attempt_at),
        "last_error": delivery.last_error,
        "held": delivery.held,
        "created_at": iso_ms(delivery.created_at),
        "sent_at": iso_ms(delivery.sent_at),
        "latency_ms": delivery.latency_ms,
        "replay_of": delivery.replay_of_id,
        "webhook_id": delivery.webhook_id,
    }
