"""Storing firings: claim each alert with a conditional UPDATE, write its event (unique per alert and
firing instant or bar) and its in-app notification, auto-pause alerts that fire too often, and mark
expired alerts. However many engines evaluate the same update, a firing is stored once.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from alerts.changes import alerts_changed
from alerts.conditions import ALL_OF, condition_words
from alerts.messages import message_render
from alerts.models import Alert, AlertEvent, Notification
from alerts.notifications import notifications_send_on_commit

PAUSE_AFTER = 15  # firings within PAUSE_WINDOW; one more and the alert is auto-paused
PAUSE_WINDOW = timedelta(minutes=3)
INFO_FIELDS = ("pk", "user_id", "message", "note", "condition", "timeframe", "frequency", "coin__symbol")
SQL_CHUNK = 5000


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
        return {
            row["pk"]: row
            for i in range(0, len(firings), SQL_CHUNK)
            for row in _claim_postgres(firings[i : i + SQL_CHUNK])
        }
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


CLAIM_SQL = """
UPDATE alerts_alert AS a SET
    last_fired_at = v.fired_at, last_fired_bar = v.bar_open, fire_count = a.fire_count + 1,
    status = CASE WHEN a.frequency = 'only_once' THEN 'triggered' ELSE a.status END, updated_at = now()
FROM (VALUES {values}) AS v(id, fired_at, bar_open, bar_guard, since), markets_coin AS c
WHERE a.id = v.id AND c.id = a.coin_id AND a.status = 'active'
    AND (a.expires_at IS NULL OR a.expires_at > v.fired_at)
    AND (v.bar_guard IS NULL OR a.last_fired_bar IS NULL OR a.last_fired_bar < v.bar_guard)
    AND (v.since IS NULL OR a.last_fired_at IS NULL OR (a.last_fired_at <= v.since AND a.last_fired_at < v.fired_at))
RETURNING a.id, a.user_id, a.message, a.note, a.condition, a.timeframe, a.frequency, c.symbol
"""


def _claim_postgres(firings: list[Firing]) -> list[dict]:
    """The same conditional UPDATE for many alerts in one statement, rows locked in id order first."""
    params, rows = [], []
    for f in firings:
        rows.append("(%s::bigint, %s::timestamptz, %s::bigint, %s::bigint, %s::timestamptz)")
        params += [f.alert_id, _moment(f.fired_ms), f.bar_open, f.bar_guard, _moment(f.since_ms)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM alerts_alert WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [[f.alert_id for f in firings]]
        )
        cursor.execute(CLAIM_SQL.format(values=", ".join(rows)), params)
        return [dict(zip(INFO_FIELDS, _parsed(row), strict=True)) for row in cursor.fetchall()]


def _parsed(row: tuple) -> tuple:
    """A claimed row with its condition as a dict (Django has psycopg hand jsonb over as text)."""
    condition = row[4]
    return (*row[:4], json.loads(condition) if isinstance(condition, str) else condition, *row[5:])


# --- events and notifications --------------------------------------------------------------------


def _record(firings: list[Firing], info: dict[int, dict]) -> None:
    events = [_event(f, info[f.alert_id]) for f in firings]
    store = _record_postgres if connection.vendor == "postgresql" else _record_orm
    notifications_send_on_commit(store(events, info))
    _remember_findings(firings)


EVENTS_SQL = """
INSERT INTO alerts_alertevent (alert_id, key, fired_at, price, bar_open, "values", message)
SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::float8[], %s::timestamptz[], %s::jsonb[],
                     %s::varchar[])
ON CONFLICT (alert_id, key) DO NOTHING
RETURNING id, alert_id, key
"""
NOTIFICATIONS_SQL = """
INSERT INTO alerts_notification (user_id, kind, alert_id, event_id, symbol, message, price, fired_at, created_at)
SELECT u, 'fired', a, e, s, m, p, f, now()
FROM unnest(%s::uuid[], %s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], %s::float8[], %s::timestamptz[])
    AS t(u, a, e, s, m, p, f)
RETURNING id
"""


def _record_postgres(events: list[AlertEvent], info: dict[int, dict]) -> list[Notification]:
    """Events and notifications in one statement each (unnest): the ORM's bulk insert costs seconds per 10,000."""
    with connection.cursor() as cursor:
        cursor.execute(
            EVENTS_SQL,
            [
                [e.alert_id for e in events],
                [e.key for e in events],
                [e.fired_at for e in events],
                [e.price for e in events],
                [e.bar_open for e in events],
                [json.dumps(e.values) for e in events],
                [e.message for e in events],
            ],
        )
        ids = {(alert, key): pk for pk, alert, key in cursor.fetchall()}
        events = [e for e in events if (e.alert_id, e.key) in ids]
        notifications = [_notification(e, info[e.alert_id], ids[(e.alert_id, e.key)]) for e in events]
        cursor.execute(
            NOTIFICATIONS_SQL,
            [
                [str(n.user_id) for n in notifications],
                [n.alert_id for n in notifications],
                [n.event_id for n in notifications],
                [n.symbol for n in notifications],
                [n.message for n in notifications],
                [n.price for n in notifications],
                [n.fired_at for n in notifications],
            ],
        )
        for notification, (pk,) in zip(notifications, cursor.fetchall(), strict=True):
            notification.pk = notification.id = pk
    return notifications


def _notification(event: AlertEvent, alert: dict, event_id: int) -> Notification:
    return Notification(
        user_id=alert["user_id"],
        kind=Notification.Kind.FIRED,
        alert_id=event.alert_id,
        event_id=event_id,
        symbol=alert["coin__symbol"],
        message=event.message,
        price=event.price,
        fired_at=event.fired_at,
    )


def _record_orm(events: list[AlertEvent], info: dict[int, dict]) -> list[Notification]:
    AlertEvent.objects.bulk_create(events, ignore_conflicts=True, batch_size=2000)
    ids = dict(
        ((alert, key), pk)
        for pk, alert, key in AlertEvent.objects.filter(
            alert_id__in=[e.alert_id for e in events], key__in={e.key for e in events}
        ).values_list("pk", "alert_id", "key")
    )
    notifications = [_notification(e, info[e.alert_id], ids[(e.alert_id, e.key)]) for e in events]
    return Notification.objects.bulk_create(notifications, batch_size=2000)


def _event(firing: Firing, alert: dict) -> AlertEvent:
    values = {k: _json_number(v) for k, v in firing.values.items()}
    fired_at = _moment(firing.fired_ms)
    return AlertEvent(
        alert_id=firing.alert_id,
        key=firing.key,
        fired_at=fired_at,
        price=firing.price,
        bar_open=None if firing.bar_open is None else datetime.fromtimestamp(firing.bar_open, UTC),
        values=values,
        message=message_render(alert["message"], _placeholders(firing, alert, values, fired_at))[:2000],
    )


def _placeholders(firing: Firing, alert: dict, values: dict, fired_at: datetime) -> dict:
    condition = alert["condition"]
    terms = condition["conditions"] if condition["kind"] == ALL_OF else [condition]
    params = {k: v for term in reversed(terms) for k, v in term.items() if k in ("level", "low", "high")}
    return {
        **params,
        **values,
        "symbol": alert["coin__symbol"],
        "price": firing.price,
        "condition": condition_words(condition),
        "timeframe": alert["timeframe"],
        "time": fired_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "alert_id": firing.alert_id,
        "note": alert["note"],
    }


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
    start = _moment(min(latest.values())) - PAUSE_WINDOW
    recent = defaultdict(int)
    for alert, fired_at in AlertEvent.objects.filter(alert_id__in=latest, fired_at__gt=start).values_list(
        "alert_id", "fired_at"
    ):
        if fired_at > _moment(latest[alert]) - PAUSE_WINDOW:
            recent[alert] += 1
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


def _paused_notice(alert: dict, count: int, fired_ms: int) -> Notification:
    return Notification(
        user_id=alert["user_id"],
        kind=Notification.Kind.AUTO_PAUSED,
        alert_id=alert["pk"],
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
