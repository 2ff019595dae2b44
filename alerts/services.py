"""Writes of alerts and notifications: alerts (checked by ``alerts.alert_fields``) created, edited,
paused, resumed, deleted or imported; notifications marked read. Pages, the API and the assistant's tools
all call these.

Every write that changes what the engine evaluates calls ``alerts_changed()``, so that engines holding
the alerts in memory reload them once the transaction commits.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from alerts.alert_fields import (
    FIELDS,
    MAX_IMPORT,
    PAUSABLE,
    RESUMABLE,
    AlertInvalid,
    Status,
    alert_clean,
    fields_clean,
    room_check,
    user_lock,
)
from alerts.changes import alerts_changed
from alerts.models import Alert, Notification
from alerts.selectors import CHANNEL_IDS, alert_as_json, alerts_list
from alerts.watchlist_alerts import members_sync, members_update, watchlist_coins

# --- One alert -------------------------------------------------------------------------------------


def alert_create(*, user, data: dict) -> Alert:
    """A new active alert from the API's body; raises AlertInvalid."""
    with transaction.atomic():
        user_lock(user)
        fields = alert_clean(user=user, data=data)
        channels = fields.pop("channels")
        alert = Alert.objects.create(user=user, **fields)
        alert.channels.set(channels)
        if alert.watchlist_id:
            members_sync([alert], watchlist_coins(alert.watchlist_id))
        alerts_changed()
    return alert


def alert_update(*, alert: Alert, data: dict, partial: bool = False) -> Alert:
    """``alert`` edited (every field, or those given with ``partial``); its status stays. Raises AlertInvalid."""
    fields = alert_clean(user=alert.user_id, data=data, alert=alert, partial=partial)
    channels = fields.pop("channels", None)
    watched = _watched(alert)
    for name, value in fields.items():
        setattr(alert, name, value)
    changed = [*fields, "updated_at"]
    # What the engine remembered (patterns already reported) was about the old condition.
    forget = watched != _watched(alert)
    if forget:
        alert.engine_state = {}
        changed.append("engine_state")
    with transaction.atomic():
        # Only these fields: the engine may be changing the status or the last firing at the same time.
        alert.save(update_fields=changed)
        if channels is not None:
            alert.channels.set(channels)
        if alert.watchlist_id:
            members_update(alert, fields=changed, reset_state=forget)
            if watched["watchlist"] != alert.watchlist_id:
                members_sync([alert], watchlist_coins(alert.watchlist_id))
        alerts_changed()
    return alert


def _watched(alert: Alert) -> dict:
    return {
        "coin": alert.coin_id,
        "watchlist": alert.watchlist_id,
        "condition": alert.condition,
        "timeframe": alert.timeframe,
    }


def alert_delete(*, alert: Alert) -> None:
    """Delete ``alert`` with its history; its notifications stay, without the link."""
    alert.delete()
    alerts_changed()


# --- Several alerts --------------------------------------------------------------------------------


def _owned(user, ids) -> QuerySet[Alert]:
    """The user's alerts among ``ids``: those the user sees (a watchlist alert's members are not)."""
    return Alert.objects.filter(user=user, pk__in=list(ids), parent=None)


def alerts_pause(*, user, ids) -> int:
    """Pause the user's active (or auto-paused) alerts among ``ids``, a watchlist alert with each coin's
    member; others' ids are ignored. Returns how many were paused."""
    now = timezone.now()
    with transaction.atomic():
        pausable = list(_owned(user, ids).filter(status__in=PAUSABLE).values_list("pk", flat=True))
        paused = Alert.objects.filter(pk__in=pausable, status__in=PAUSABLE).update(status=Status.PAUSED, updated_at=now)
        Alert.objects.filter(parent__in=pausable, status__in=PAUSABLE).update(status=Status.PAUSED, updated_at=now)
        if paused:
            alerts_changed()
    return paused


def alerts_resume(*, user, ids) -> int:
    """Re-arm the user's paused, auto-paused, triggered or expired alerts among ``ids`` (an expired
    one only when its expiry is now later or gone), and every such member of a watchlist alert among
    them (one coin's member auto-paused, or spent only_once); raises AlertInvalid past ALERTS_PER_USER.
    Returns how many of the user's alerts were re-armed."""
    now = timezone.now()
    unexpired = Q(expires_at=None) | Q(expires_at__gt=now)
    with transaction.atomic():
        user_lock(user)
        owned = _owned(user, ids).filter(unexpired)
        resumable = set(owned.filter(status__in=RESUMABLE).values_list("pk", flat=True))
        room_check(user=user, adding=len(resumable))
        parents = owned.filter(watchlist__isnull=False, status__in=(*RESUMABLE, Status.ACTIVE))
        members = Alert.objects.filter(unexpired, parent__in=parents, status__in=RESUMABLE)
        rearmed = set(members.values_list("parent_id", flat=True))
        members.update(status=Status.ACTIVE, updated_at=now)
        Alert.objects.filter(pk__in=resumable).update(status=Status.ACTIVE, updated_at=now)
        if resumable or rearmed:
            alerts_changed()
    return len(resumable | rearmed)


def alerts_delete(*, user, ids) -> int:
    """Delete the user's alerts among ``ids`` (a watchlist alert with its members); returns how many."""
    with transaction.atomic():
        owned = list(_owned(user, ids).values_list("pk", flat=True))
        Alert.objects.filter(pk__in=owned).delete()
        if owned:
            alerts_changed()
    return len(owned)


def alerts_export(*, user) -> list[dict]:
    """The user's alerts in the shape POST /api/alerts and alerts_import take, newest first."""
    return [
        {name: answer[name] for name in FIELDS}
        for answer in map(alert_as_json, alerts_list(user=user, with_channels=True))
    ]


def alerts_import(*, user, items: list) -> list[Alert]:
    """New active alerts, one per item of ``items`` (each as POST /api/alerts takes it): all of them, or
    none when any is refused, with AlertInvalid naming each bad field (``alerts[2].condition.level``)."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_IMPORT:
        raise AlertInvalid({"alerts": [f"Must be a list of 1 to {MAX_IMPORT} alerts."]})
    with transaction.atomic():
        user_lock(user)
        cleaned, errors = [], {}
        for index, item in enumerate(items):
            fields, refused = fields_clean(item, user=user, prefix=f"alerts[{index}].")
            cleaned.append(fields)
            errors.update(refused)
        if errors:
            bad = len({path.split(".", 1)[0] for path in errors})
            raise AlertInvalid(errors, f"{bad} of the {len(items)} alerts are not valid; none was imported.")
        room_check(user=user, adding=len(cleaned))
        # Created last to first, so that the list (newest first) and a new export keep the items' order.
        channels = [fields.pop("channels") for fields in reversed(cleaned)]
        alerts = Alert.objects.bulk_create([Alert(user=user, **fields) for fields in reversed(cleaned)])
        _channels_link(alerts, channels)
        _members_create([alert for alert in alerts if alert.watchlist_id])
        alerts_changed()
    return alerts[::-1]


def _members_create(parents: list[Alert]) -> None:
    """Each new watchlist alert's members, one query per list."""
    by_list: dict[int, list[Alert]] = {}
    for parent in parents:
        by_list.setdefault(parent.watchlist_id, []).append(parent)
    for watchlist_id, alerts in by_list.items():
        members_sync(alerts, watchlist_coins(watchlist_id))


def _channels_link(alerts: list[Alert], channels: list[list[int]]) -> None:
    """Each new alert linked to its channels, in one INSERT, and those links read back in one query
    for the answer."""
    link = Alert.channels.through
    rows = [link(alert_id=alert.pk, channel_id=id) for alert, ids in zip(alerts, channels, strict=True) for id in ids]
    link.objects.bulk_create(rows)
    prefetch_related_objects(alerts, CHANNEL_IDS)


# --- Notifications ---------------------------------------------------------------------------------


def notifications_read(*, user, ids: list | None) -> int:
    """Mark the user's unread notifications among ``ids`` (all of them with None) read; returns how many."""
    unread = Notification.objects.filter(user=user, read_at=None)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())
