"""Storing firings: claim each alert with a conditional UPDATE, write its event (unique per alert and
firing instant or bar), its in-app notification and its deliveries to the alert's channels, auto-pause
alerts that fire too often, and mark expired alerts. However many engines evaluate the same update, a
firing is stored once.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from alerts import firing_sql
from alerts.changes import alerts_changed
from alerts.conditions import condition_words
from alerts.deliveries import deliveries_create
from alerts.messages import message_placeholders, message_render
from alerts.models import Alert, AlertEvent, Notification
from alerts.notifications import notifications_send_on_commit

PAUSE_AFTER = 15  # firings within PAUSE_WINDOW; one more and the alert is auto-paused
PAUSE_WINDOW = timedelta(minutes=3)
INFO_FIELDS = ("pk", "user_id", "message", "note", "condition", "timeframe", "frequency", "coin__symbol", "parent_id")


@dataclass
class Firing:
    """One firing the engine found: the alert, its event key, exchange time (ms), price, the bar it
    fired in (open epoch s), the once-per-bar and cooldown guards its claim checks, its readings."""

    alert_id: int
    key: str
    fired_ms: int
    price: float
    bar_open: int | None
    bar_guard: int | None = None  # claim only if the last firing's bar is before this one
    since_ms: int | None = None  # claim only if the last firing was at or before this instant
    values: dict = field(default_factory=dict)
    reported: str | None = None  # a pattern finding to remember as reported


@dataclass
class Stored:
    """What storing firings did: the alerts claimed (fired now) and those auto-paused."""

    claimed: set[int] = field(default_factory=set)
    paused: set[int] = field(default_factory=set)


def firings_store(firings: list[Firing]) -> Stored:
    """Claim, record and notify ``firings`` in one transaction; return what was claimed and paused."""
    if not firings:
        return Stored()
    with transaction.atomic():
        info = _claim(firings)
        claimed = set(info)
        mine = [f for f in firings if f.alert_id in claimed]
        _record(mine, info)
        paused = _pause_frequent(mine, info)
        if paused or any(info[a]["frequency"] == Alert.Frequency.ONLY_ONCE for a in claimed):
            alerts_changed()
    return Stored(claimed=claimed, paused=paused)


def _moment(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


# --- claiming ------------------------------------------------------------------------------------


def _claim(firings: list[Firing]) -> dict[int, dict]:
    """Claim each firing's alert; return the claimed alerts' fields (INFO_FIELDS) by id."""
    firings = sorted(firings, key=lambda f: f.alert_id)  # rows locked in one order: no deadlock between engines
    if connection.vendor == "postgresql":
        return _claim_postgres(firings)
    claimed = [f.alert_id for f in firings if _claim_one(f)]
    return {row["pk"]: row for row in Alert.objects.filter(pk__in=claimed).values(*INFO_FIELDS)}


def _claim_one(firing: Firing) -> bool:
    """The conditional UPDATE of one alert (any database)."""
    at = _moment(firing.fired_ms)
    rows = Alert.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at), pk=firing.alert_id, status="active")
    if firing.bar_guard is not None:
        rows = rows.filter(Q(last_fired_bar__isnull=True) | Q(last_fired_bar__lt=firing.bar_guard))
    if firing.since_ms is not None:
        since = _moment(firing.since_ms)
        rows = rows.filter(Q(last_fired_at__isnull=True) | Q(last_fired_at__lte=since, last_fired_at__lt=at))
    return bool(
        rows.update(
            last_fired_at=at,
            last_fired_bar=firing.bar_open,
            fire_count=F("fire_count") + 1,
            status=Case(When(frequency="only_once", then=Value("triggered")), default=F("status")),
            updated_at=timezone.now(),
        )
    )


def _claim_postgres(firings: list[Firing]) -> dict[int, dict]:
    """The same conditional UPDATE for every alert in one statement, rows locked in id order first."""
    firing_sql.alerts_lock([f.alert_id for f in firings])
    rows = firing_sql.rows_fetch(
        firing_sql.CLAIM_SQL,
        firing_sql.columns([(f.alert_id, f.fired_ms, f.bar_open, f.bar_guard, f.since_ms) for f in firings]),
    )
    parsed: dict[str, tuple[dict, str]] = {}
    return {row[0]: _claimed(row, parsed) for row in rows}


def _claimed(row: tuple, parsed: dict[str, tuple[dict, str]]) -> dict:
    """A claimed row's fields, its condition as a dict (Django has psycopg hand jsonb over as text) and
    in words, each distinct condition parsed and worded once (``parsed``): many alerts share one."""
    info = dict(zip(INFO_FIELDS, row, strict=True))
    condition = info["condition"]
    text = condition if isinstance(condition, str) else json.dumps(condition, sort_keys=True)
    if text not in parsed:
        condition = json.loads(text)
        parsed[text] = (condition, condition_words(condition))
    info["condition"], info["words"] = parsed[text]
    return info


# --- events and notifications --------------------------------------------------------------------


class EventRow(NamedTuple):
    """An event to insert: its alert, key, time (epoch ms), price, bar (open epoch s), readings, message."""

    alert_id: int
    key: str
    fired_ms: int
    price: float
    bar_open: int | None
    values: dict
    message: str


def _record(firings: list[Firing], info: dict[int, dict]) -> None:
    events = [_event(f, info[f.alert_id]) for f in firings]
    store = _record_postgres if connection.vendor == "postgresql" else _record_orm
    notifications = store(events, info)
    notifications_send_on_commit(notifications)
    deliveries_create([(n.event_id, n.alert_id) for n in notifications])
    _remember_findings(firings)


def _record_postgres(events: list[EventRow], info: dict[int, dict]) -> list[Notification]:
    """Events and notifications in one statement each (unnest): the ORM's bulk insert costs seconds per 10,000."""
    if not events:
        return []
    rows = [(*e[:5], json.dumps(e.values), e.message) for e in events]
    ids = {
        (alert, key): pk for pk, alert, key in firing_sql.rows_fetch(firing_sql.EVENTS_SQL, firing_sql.columns(rows))
    }
    events = [e for e in events if (e.alert_id, e.key) in ids]  # not those another engine stored first
    if not events:
        return []
    notifications = [_notification(e, info[e.alert_id], ids[e.alert_id, e.key]) for e in events]
    rows = [
        (str(n.user_id), n.alert_id, n.event_id, n.symbol, n.message, n.price, e.fired_ms)
        for n, e in zip(notifications, events, strict=True)
    ]
    for notification, (pk,) in zip(
        notifications, firing_sql.rows_fetch(firing_sql.NOTIFICATIONS_SQL, firing_sql.columns(rows)), strict=True
    ):
        notification.pk = notification.id = pk
    return notifications


def shown_id(alert: dict) -> int:
    """The id the user knows a claimed alert by: a watchlist alert's member is told as its watchlist alert
    (whose channels its firings are delivered to), with its own coin."""
    return alert["parent_id"] or alert["pk"]


def _notification(event: EventRow, alert: dict, event_id: int) -> Notification:
    values = {
        "user_id": alert["user_id"],
        "kind": Notification.Kind.FIRED,
        "alert_id": shown_id(alert),  # deliveries go to this alert's channels
        "event_id": event_id,
        "symbol": alert["coin__symbol"],
        "message": event.message,
        "price": event.price,
        "fired_at": _moment(event.fired_ms),
    }
    # Every field by position: Model.__init__ with keywords costs ~30 us, which 10,000 firings feel.
    return Notification(*[values.get(name, default) for name, default in _notification_defaults()])


@cache
def _notification_defaults() -> list[tuple[str, object]]:
    return [(f.attname, f.get_default()) for f in Notification._meta.concrete_fields]


def _record_orm(events: list[EventRow], info: dict[int, dict]) -> list[Notification]:
    def stored() -> dict[tuple[int, str], int]:
        rows = AlertEvent.objects.filter(alert_id__in=[e.alert_id for e in events], key__in={e.key for e in events})
        return {(alert, key): pk for pk, alert, key in rows.values_list("pk", "alert_id", "key")}

    before = stored()  # events stored earlier get no second notification (as on PostgreSQL)
    events = [e for e in events if (e.alert_id, e.key) not in before]
    AlertEvent.objects.bulk_create(
        [
            AlertEvent(
                alert_id=e.alert_id,
                key=e.key,
                fired_at=_moment(e.fired_ms),
                price=e.price,
                bar_open=None if e.bar_open is None else datetime.fromtimestamp(e.bar_open, UTC),
                values=e.values,
                message=e.message,
            )
            for e in events
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    ids = stored()
    notifications = [_notification(e, info[e.alert_id], ids[(e.alert_id, e.key)]) for e in events]
    return Notification.objects.bulk_create(notifications, batch_size=2000)


def _event(firing: Firing, alert: dict) -> EventRow:
    values = {k: _json_number(v) for k, v in firing.values.items()}
    fired_at = _moment(firing.fired_ms)
    placeholders = message_placeholders(alert, alert_id=shown_id(alert), price=firing.price, values=values, at=fired_at)
    message = message_render(alert["message"], placeholders)[:2000]
    return EventRow(firing.alert_id, firing.key, firing.fired_ms, firing.price, firing.bar_open, values, message)


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _remember_findings(firings: list[Firing]) -> None:
    """Pattern findings reported by these firings, kept so that a later bar does not report them again."""
    for firing in (f for f in firings if f.reported):
        alert = Alert.objects.select_for_update().only("engine_state").get(pk=firing.alert_id)
        reported = set(alert.engine_state.get("reported", [])) | {firing.reported}
        Alert.objects.filter(pk=firing.alert_id).update(
            engine_state={**alert.engine_state, "reported": sorted(reported)}
        )


# --- auto-pause and expiry -----------------------------------------------------------------------


def _pause_frequent(firings: list[Firing], info: dict[int, dict]) -> set[int]:
    """Alerts that have now fired more than PAUSE_AFTER times within PAUSE_WINDOW: auto-paused, owner told."""
    latest = {f.alert_id: f.fired_ms for f in firings if info[f.alert_id]["frequency"] == Alert.Frequency.EVERY_TIME}
    if not latest:
        return set()
    recent = _recent_counts(latest)
    over = sorted(a for a, n in recent.items() if n > PAUSE_AFTER)
    if not over:
        return set()
    paused = list(
        Alert.objects.select_for_update()
        .filter(pk__in=over, status="active")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    Alert.objects.filter(pk__in=paused).update(status=Alert.Status.AUTO_PAUSED, updated_at=timezone.now())
    notifications_send_on_commit(
        Notification.objects.bulk_create([_paused_notice(info[a], recent[a], latest[a]) for a in paused])
    )
    return set(paused)


def _recent_counts(latest: dict[int, int]) -> dict[int, int]:
    """How many events each alert has within PAUSE_WINDOW before its latest firing (epoch ms)."""
    if connection.vendor == "postgresql":
        params = [list(latest), list(latest.values()), PAUSE_WINDOW.total_seconds()]
        return dict(firing_sql.rows_fetch(firing_sql.RECENT_SQL, params))
    start = _moment(min(latest.values())) - PAUSE_WINDOW
    recent = defaultdict(int)
    for alert, fired_at in AlertEvent.objects.filter(alert_id__in=latest, fired_at__gt=start).values_list(
        "alert_id", "fired_at"
    ):
        if fired_at > _moment(latest[alert]) - PAUSE_WINDOW:
            recent[alert] += 1
    return recent


def _paused_notice(alert: dict, count: int, fired_ms: int) -> Notification:
    return Notification(
        user_id=alert["user_id"],
        kind=Notification.Kind.AUTO_PAUSED,
        alert_id=shown_id(alert),
        symbol=alert["coin__symbol"],
        message=(
            f"{alert['coin__symbol']}: alert paused after firing {count} times in 3 minutes "
            f"({condition_words(alert['condition'])}). Resume it when you want it back."
        ),
        fired_at=_moment(fired_ms),
    )


def alerts_expire(*, now: datetime | None = None) -> int:
    """Mark active alerts whose expiry has passed as expired; return how many."""
    now = now or timezone.now()
    count = Alert.objects.filter(status=Alert.Status.ACTIVE, expires_at__lte=now).update(
        status=Alert.Status.EXPIRED, updated_at=now
    )
    if count:
        alerts_changed()
    return count
