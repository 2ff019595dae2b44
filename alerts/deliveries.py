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

from django.db import connection, transaction

from alerts import dispatch, firing_sql
from alerts.models import Alert, Delivery


def deliveries_create(events: list[tuple[int, int]]) -> list[int]:
    """One pending delivery per enabled channel of each (event id, alert id), enqueued once the firing's
    transaction commits; return their ids. With no channel at all this costs one cheap statement."""
    if not events:
        return []
    if connection.vendor == "postgresql":
        ids = [pk for (pk,) in firing_sql.rows_fetch(firing_sql.DELIVERIES_SQL, firing_sql.columns(events))]
    else:
        ids = _create_orm(events)
    _enqueue_on_commit(ids)
    return ids


def _create_orm(events: list[tuple[int, int]]) -> list[int]:
    links = Alert.channels.through.objects.filter(
        alert_id__in={alert for _, alert in events}, channel__enabled=True
    ).values_list("alert_id", "channel_id")
    channels: dict[int, list[int]] = {}
    for alert, channel in links:
        channels.setdefault(alert, []).append(channel)
    rows = [Delivery(event_id=event, channel_id=c) for event, alert in events for c in channels.get(alert, [])]
    return [d.pk for d in Delivery.objects.bulk_create(rows)]


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
