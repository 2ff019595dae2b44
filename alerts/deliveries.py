"""Deliveries: each firing sent to each of its alert's channels, once, never lost.

A delivery is created in the firing's transaction and enqueued on commit (``alerts.dispatch``). A sender
claims it with one conditional UPDATE (so two senders never both send it), sends it through its
channel's transport, and records the outcome: ``sent``; ``failed`` with the retry's time (backoff with
jitter); ``dead`` when retries are spent, it grew older than NOTIFY_MAX_AGE, or the error is permanent
(the channel is then disabled and its owner told in-app). Quiet hours hold a delivery until they end,
when the channel's held deliveries go out as one digest. The sweep re-enqueues what a lost task or a
killed worker left behind.
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from alerts import dispatch, firing_sql, transports
from alerts.delivery_messages import message_digest, message_for, message_test, quiet_until  # noqa: F401 (API)
from alerts.models import Alert, Channel, Delivery, Notification
from alerts.notifications import notifications_send_on_commit
from alerts.transports import Message, Paced, TransportError
from alerts.transports.pacing import EARLY

logger = logging.getLogger(__name__)


def deliveries_create(events: list[tuple[int, int]]) -> list[int]:
    """One pending delivery per enabled channel of each (event id, alert id), enqueued once the firing's
    transaction commits; return their ids. With no channel at all this costs one cheap statement."""
    if not events:
        return []
    if connection.vendor == "postgresql":
        params = [firing_sql.int_array(e for e, _ in events), firing_sql.int_array(a for _, a in events)]
        ids = [pk for (pk,) in firing_sql.rows_fetch(firing_sql.DELIVERIES_SQL, params)]
    else:
        ids = _create_orm(events)
    _enqueue_on_commit(ids)
    return ids


def _create_orm(events: list[tuple[int, int]]) -> list[int]:
    links = Alert.channels.through.objects.filter(
        alert_id__in={alert for _, alert in events}, channel__enabled=True
    ).values_list("alert_id", "channel_id", "channel__kind")
    channels: dict[int, list[tuple[str, int]]] = {}
    for alert, channel, kind in links:
        channels.setdefault(alert, []).append((kind, channel))
    rows = [(kind, Delivery(event_id=e, channel_id=c)) for e, alert in events for kind, c in channels.get(alert, [])]
    rows.sort(key=lambda row: (row[0] == "telegram", row[0]))  # as DELIVERIES_SQL orders them
    return [d.pk for d in Delivery.objects.bulk_create([delivery for _, delivery in rows])]


def _enqueue_on_commit(ids: list[int], *, delay: float = 0.0) -> None:
    if ids:
        transaction.on_commit(lambda: dispatch.deliveries_enqueue(ids, delay=delay))


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send ``delivery``'s firing to its channel again, as a new delivery that keeps the first one's
    ``webhook_id`` (``replay_of`` is the first of the chain), enqueued on commit."""
    replay = Delivery.objects.create(
        channel_id=delivery.channel_id, event_id=delivery.event_id, replay_of_id=delivery.replay_of_id or delivery.pk
    )
    _enqueue_on_commit([replay.pk])
    return replay


# --- sending ---------------------------------------------------------------------------------------

# Claim: the given deliveries that are due (or whose sender was lost past the lease) and, with any held
# one, every held delivery of its channel that is due too, so that one digest carries them all.
CLAIM_SQL = """
UPDATE alerts_delivery SET state = 'sending', claimed_at = %s, attempts = attempts + 1
WHERE (id IN ({ids}) OR (held AND state IN ('pending', 'failed') AND channel_id IN (
        SELECT channel_id FROM alerts_delivery WHERE id IN ({ids}) AND held)))
    AND ((state IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= %s))
        OR (state = 'sending' AND claimed_at < %s))
RETURNING id
"""
RETRY_WINDOW = timedelta(seconds=EARLY)  # retries due this close together go in one task
SEND_THREADS = 16  # concurrent sends of one batch: webhooks to many receivers do not wait on each other
RECORDED = ("state", "attempts", "next_attempt_at", "held", "claimed_at", "last_error", "sent_at", "latency_ms")


@dataclass
class Job:
    """One message to one channel: a delivery's, or the digest of a channel's held deliveries."""

    channel: Channel
    deliveries: list[Delivery]
    message: Message | None = None
    outcome: Exception | None = None
    finished: datetime | None = None


def delivery_send(delivery_id: int) -> None:
    """Claim the delivery, send it (or hold it for quiet hours) and record the outcome."""
    deliveries_send_batch([delivery_id])


def deliveries_send_batch(ids: list[int]) -> None:
    """Claim these deliveries in one statement, send those claimed concurrently, and record every
    outcome in one statement; deliveries claimed elsewhere, or already sent, are left alone."""
    now = timezone.now()
    claimed = _claim(ids, now)
    if not claimed:
        return
    deliveries = list(Delivery.objects.filter(pk__in=claimed).select_related("channel", "event__alert__coin"))
    jobs = _jobs(deliveries, now)
    _send_all(jobs)
    _record(deliveries, jobs)


def _claim(ids: list[int], now: datetime) -> list[int]:
    ids = [int(pk) for pk in ids]
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    adapt = connection.ops.adapt_datetimefield_value
    lease = timedelta(seconds=settings.NOTIFY_CLAIM_LEASE)
    params = [adapt(now), *ids, *ids, adapt(now), adapt(now - lease)]
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL.format(ids=marks), params)
        return [pk for (pk,) in cursor.fetchall()]


def _jobs(deliveries: list[Delivery], now: datetime) -> list[Job]:
    """What to send: settles those that go dead or are held now, groups the held ones per channel."""
    jobs, digests = [], {}
    for delivery in deliveries:
        if not _settled(delivery, now):
            if delivery.held:
                digests.setdefault(delivery.channel_id, Job(delivery.channel, [])).deliveries.append(delivery)
            else:
                jobs.append(Job(delivery.channel, [delivery]))
    jobs.extend(digests.values())
    for job in jobs:
        try:
            job.message = message_digest(job.deliveries) if len(job.deliveries) > 1 else message_for(job.deliveries[0])
        except Exception as error:  # a broken row fails its own delivery, not the batch
            logger.exception("Could not build the message of deliveries %s", [d.pk for d in job.deliveries])
            job.outcome = error
    return jobs


def _settled(delivery: Delivery, now: datetime) -> bool:
    """Whether the delivery is decided without sending: dead (channel disabled, too old) or held."""
    channel, event = delivery.channel, delivery.event
    if not channel.enabled:
        _dead(delivery, f"channel disabled: {channel.disabled_reason or 'by its owner'}")
    elif not delivery.held and now - event.fired_at > timedelta(seconds=settings.NOTIFY_MAX_AGE):
        _dead(delivery, f"older than NOTIFY_MAX_AGE ({settings.NOTIFY_MAX_AGE:g} s) since the firing")
    elif (until := quiet_until(channel, now)) and not event.alert.urgent:
        _put_off(delivery, until, held=True)
    else:
        return False
    return True


def _send_all(jobs: list[Job]) -> None:
    ready = [job for job in jobs if job.outcome is None]
    if len(ready) == 1:
        _send(ready[0])
    elif ready:
        list(_pool().map(_send, ready))


def _send(job: Job) -> None:
    """One transport call; any error is kept as the job's outcome (runs on a pool thread: no database)."""
    try:
        transports.transport_for(job.channel.kind).send(job.channel, job.message)
    except (TransportError, Paced) as error:
        job.outcome = error
    except Exception as error:  # a bug or an unforeseen failure: retried like a transient one, and logged
        logger.exception("Sending to %s channel %s failed unexpectedly", job.channel.kind, job.channel.pk)
        job.outcome = error
    job.finished = timezone.now()


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    # Made on first use, in the process that sends (a Celery worker's child, after the fork).
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="notify-send")
        return _executor


# --- recording -------------------------------------------------------------------------------------


def _record(deliveries: list[Delivery], jobs: list[Job]) -> None:
    """Every claimed delivery's new state in one statement; disabled channels and retries after it."""
    disabled: dict[int, tuple[Channel, Delivery, str]] = {}
    for job in jobs:
        error = job.outcome
        for delivery in job.deliveries:
            if error is None:
                _sent(delivery, job.finished)
            elif isinstance(error, Paced):
                _put_off(delivery, timezone.now() + timedelta(seconds=error.wait), held=delivery.held)
            elif isinstance(error, TransportError) and error.permanent:
                _dead(delivery, error.message)
                disabled[job.channel.pk] = (job.channel, delivery, error.message)
        if error is not None and not isinstance(error, Paced) and not _permanent(error):
            _failed(job.deliveries, error)
    with transaction.atomic():
        _outcomes_store(deliveries)
        if disabled:
            _channels_disable(list(disabled.values()))
    _enqueue_retries(deliveries)


# One UPDATE from a VALUES list: bulk_update's CASE per field and row costs ~2 ms of CPU per delivery.
RECORD_SQL = """
UPDATE alerts_delivery AS d SET state = v.state, attempts = v.attempts, next_attempt_at = v.next_attempt_at,
    held = v.held, claimed_at = v.claimed_at, last_error = v.last_error, sent_at = v.sent_at,
    latency_ms = v.latency_ms
FROM (VALUES {rows}) AS v(id, state, attempts, next_attempt_at, held, claimed_at, last_error, sent_at, latency_ms)
WHERE d.id = v.id
"""
RECORD_ROW = (
    "(%s::bigint, %s, %s::smallint, %s::timestamptz, %s::boolean, %s::timestamptz, %s, %s::timestamptz, %s::integer)"
)


def _outcomes_store(deliveries: list[Delivery]) -> None:
    """Each delivery's RECORDED fields, in one statement."""
    if connection.vendor != "postgresql":
        Delivery.objects.bulk_update(deliveries, RECORDED)
        return
    params = [value for d in deliveries for value in (d.pk, *(getattr(d, name) for name in RECORDED))]
    with connection.cursor() as cursor:
        cursor.execute(RECORD_SQL.format(rows=", ".join([RECORD_ROW] * len(deliveries))), params)


def _permanent(error: Exception) -> bool:
    return isinstance(error, TransportError) and error.permanent


def _sent(delivery: Delivery, at: datetime) -> None:
    delivery.state, delivery.sent_at, delivery.held = Delivery.State.SENT, at, False
    delivery.next_attempt_at, delivery.last_error = None, ""
    delivery.latency_ms = max(0, round((at - delivery.event.fired_at).total_seconds() * 1000))


def _dead(delivery: Delivery, reason: str) -> None:
    delivery.state, delivery.next_attempt_at, delivery.last_error = Delivery.State.DEAD, None, reason[:1000]


def _put_off(delivery: Delivery, until: datetime, *, held: bool) -> None:
    """Back to pending until ``until``, the attempt not counted (quiet hours, pacing)."""
    delivery.state, delivery.next_attempt_at, delivery.held = Delivery.State.PENDING, until, held
    delivery.attempts -= 1
    delivery.claimed_at = None


def _failed(deliveries: list[Delivery], error: Exception) -> None:
    """A transient failure: retry after the next delay of the schedule (Telegram's retry_after exactly),
    or dead when the schedule is spent or the retry would come after NOTIFY_MAX_AGE."""
    text = _error_text(error)
    attempts = deliveries[0].attempts
    delays = settings.NOTIFY_RETRY_DELAYS
    retry_after = getattr(error, "retry_after", None)
    if attempts > len(delays):
        for delivery in deliveries:
            _dead(delivery, f"retries spent ({attempts} attempts): {text}")
        return
    delay = retry_after if retry_after is not None else delays[attempts - 1] * random.uniform(0.8, 1.2)
    at = timezone.now() + timedelta(seconds=delay)
    for delivery in deliveries:
        if not delivery.held and at - delivery.event.fired_at > timedelta(seconds=settings.NOTIFY_MAX_AGE):
            _dead(delivery, f"would retry after NOTIFY_MAX_AGE since the firing: {text}")
        else:
            delivery.state, delivery.next_attempt_at, delivery.last_error = Delivery.State.FAILED, at, text


def _error_text(error: Exception) -> str:
    if isinstance(error, TransportError):
        return error.message[:1000]
    return f"{type(error).__name__}: {error}"[:1000]


def _channels_disable(disabled: list[tuple[Channel, Delivery, str]]) -> None:
    """Permanent errors: the channels stop (no more retries to a blocked bot or a gone URL), owners told."""
    notices = []
    for channel, delivery, reason in disabled:
        Channel.objects.filter(pk=channel.pk).update(
            enabled=False, disabled_reason=reason[:1000], updated_at=timezone.now()
        )
        notices.append(
            Notification(
                user_id=channel.user_id,
                kind=Notification.Kind.CHANNEL_DISABLED,
                alert_id=delivery.event.alert.parent_id or delivery.event.alert_id,
                symbol=delivery.event.alert.coin.symbol,
                message=f"Your {channel.kind} channel {channel.name or channel.target} was disabled: {reason}"[:2000],
                fired_at=timezone.now(),
            )
        )
    notifications_send_on_commit(Notification.objects.bulk_create(notices))


def _enqueue_retries(deliveries: list[Delivery]) -> None:
    """Each delivery put off or failed is enqueued again for its time, those due within RETRY_WINDOW of
    the first of a group in one task, at that first time (a paced send a little early waits in place)."""
    due = sorted(
        (d for d in deliveries if d.state in (Delivery.State.PENDING, Delivery.State.FAILED)),
        key=lambda d: d.next_attempt_at,
    )
    groups: list[list[Delivery]] = []
    for delivery in due:
        if groups and delivery.next_attempt_at - groups[-1][0].next_attempt_at <= RETRY_WINDOW:
            groups[-1].append(delivery)
        else:
            groups.append([delivery])
    now = timezone.now()
    for group in groups:
        _enqueue_on_commit([d.pk for d in group], delay=max(0.0, (group[0].next_attempt_at - now).total_seconds()))


# --- sweeping --------------------------------------------------------------------------------------

SWEEP_GRACE = timedelta(seconds=15)  # due this long with no sender at it: its task is taken as lost
SWEEP_LIMIT = 1000


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Re-enqueue deliveries due for over SWEEP_GRACE (a lost task, a lost timer, held ones whose quiet
    hours ended) and those still ``sending`` past NOTIFY_CLAIM_LEASE (their worker died; they go
    ``failed``, due now). Each is marked due now, so that the next sweeps leave it to this one's task for
    SWEEP_GRACE. Return how many."""
    now = now or timezone.now()
    late = now - SWEEP_GRACE
    lease = now - timedelta(seconds=settings.NOTIFY_CLAIM_LEASE)
    waiting = Q(state__in=[Delivery.State.PENDING, Delivery.State.FAILED]) & (
        Q(next_attempt_at__lte=late) | Q(next_attempt_at__isnull=True, created_at__lte=late)
    )
    lost = Q(state=Delivery.State.SENDING, claimed_at__lt=lease)
    ids = list(Delivery.objects.filter(waiting | lost).order_by("pk").values_list("pk", flat=True)[:SWEEP_LIMIT])
    if not ids:
        return 0
    Delivery.objects.filter(waiting | lost, pk__in=ids).update(
        next_attempt_at=now,
        state=Case(When(state=Delivery.State.SENDING, then=Value(Delivery.State.FAILED)), default=F("state")),
        last_error=Case(
            When(state=Delivery.State.SENDING, then=Value("the sender was lost while sending")), default=F("last_error")
        ),
    )
    _enqueue_on_commit(ids)
    return len(ids)
