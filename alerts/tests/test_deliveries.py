# ruff: noqa: F811  (fixtures imported from delivery_helpers)
"""Deliveries: created with the firing, claimed once, sent, retried with backoff, dead when stale or
refused for good, replayed with the same webhook id."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.deliveries import deliveries_send_batch, deliveries_sweep, delivery_replay, delivery_send, message_for
from alerts.firing import Firing, firings_store
from alerts.models import Channel, Delivery, Notification
from alerts.tests.delivery_helpers import (  # noqa: F401 (fixtures)
    alert_with,
    channel_make,
    delivery_make,
    enqueued,
    fake,
)
from alerts.transports import Paced, TransportError

pytestmark = pytest.mark.django_db
SCHEDULE = [2, 10, 30, 120, 600, 1800]


@pytest.fixture(autouse=True)
def _schedule(settings):
    settings.NOTIFY_RETRY_DELAYS = SCHEDULE
    settings.NOTIFY_MAX_AGE = 3600
    settings.NOTIFY_CLAIM_LEASE = 60


def _fire(alert, ms: int | None = None):
    ms = ms or int(timezone.now().timestamp() * 1000)
    return firings_store([Firing(alert_id=alert.pk, key=f"t:{ms}", fired_ms=ms, price=101.0, bar_open=None)])


# --- creation ------------------------------------------------------------------------------------


def test_a_firing_creates_one_delivery_per_channel_enqueued_on_commit(
    user, coins, enqueued, django_capture_on_commit_callbacks
):
    channels = [channel_make(user), channel_make(user, "telegram")]
    alert = alert_with(user, coins["BTC"], *channels)
    with django_capture_on_commit_callbacks(execute=True):
        _fire(alert)
    deliveries = list(Delivery.objects.order_by("channel_id"))
    assert [(d.channel_id, d.state, d.event.alert_id) for d in deliveries] == [
        (channels[0].pk, "pending", alert.pk),
        (channels[1].pk, "pending", alert.pk),
    ]
    [(ids, delay)] = enqueued
    assert (sorted(ids), delay) == (sorted(d.pk for d in deliveries), 0.0)


def test_a_bursts_deliveries_are_enqueued_grouped_by_channel_kind_telegram_last(
    user, coins, enqueued, django_capture_on_commit_callbacks
):
    """A batch of webhooks must not wait on a paced Telegram send, so batches are cut from ids in kind order."""
    telegram, webhook = channel_make(user, "telegram"), channel_make(user, "webhook")
    alerts = [alert_with(user, coins["BTC"], telegram, webhook) for _ in range(3)]
    ms = int(timezone.now().timestamp() * 1000)
    firings = [Firing(alert_id=a.pk, key=f"t:{ms}", fired_ms=ms, price=101.0, bar_open=None) for a in alerts]
    with django_capture_on_commit_callbacks(execute=True):
        firings_store(firings)
    [(ids, _)] = enqueued
    kinds = dict(Delivery.objects.values_list("pk", "channel__kind"))
    assert [kinds[pk] for pk in ids] == ["webhook"] * 3 + ["telegram"] * 3  # the paced kind last


def test_a_rolled_back_firing_leaves_no_delivery_and_enqueues_nothing(
    user, coins, enqueued, django_capture_on_commit_callbacks
):
    alert = alert_with(user, coins["BTC"], channel_make(user), channel_make(user, "email"))
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        _fire(alert)
        assert Delivery.objects.count() == 2  # in the firing's transaction
        raise RuntimeError("the firing's transaction fails")
    assert Delivery.objects.count() == 0
    assert enqueued == []


def test_a_disabled_channel_gets_no_delivery(user, coins, enqueued):
    alert = alert_with(user, coins["BTC"], channel_make(user, enabled=False), channel_make(user, "email"))
    _fire(alert)
    assert list(Delivery.objects.values_list("channel__kind", flat=True)) == ["email"]


def test_an_alert_without_channels_costs_the_firing_one_statement_more(user, coins, enqueued):
    alert = alert_with(user, coins["BTC"])
    channelled = alert_with(user, coins["ETH"], channel_make(user))
    with CaptureQueriesContext(connection) as plain:
        _fire(alert)
    statements = [q["sql"] for q in plain.captured_queries if "alerts_alert_channels" in q["sql"]]
    assert len(statements) == 1
    _fire(channelled)
    assert Delivery.objects.filter(channel__alerts=channelled).count() == 1


# --- sending -------------------------------------------------------------------------------------


def test_a_sent_delivery_records_the_hand_off_and_its_latency(user, coins, fake):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel, ago=2.0)
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert 2000 <= delivery.latency_ms < 10000
    assert delivery.sent_at is not None
    [(channel_id, message)] = fake.calls
    assert (channel_id, message.text) == (channel.pk, "BTC crossed 100 at 101.5")
    assert message.subject == "BTC: crosses up 100"
    assert message.webhook_id == f"msg_{delivery.pk}"


def test_a_second_run_of_the_same_task_sends_nothing_twice(user, coins, fake, enqueued):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    deliveries_send_batch([delivery.pk])
    deliveries_send_batch([delivery.pk])
    assert len(fake.calls) == 1


def test_the_message_carries_the_firing_s_placeholders_for_a_webhook_body(user, coins):
    channel = channel_make(user)
    alert = alert_with(user, coins["BTC"], channel, note="breakout")
    delivery = delivery_make(alert, channel)
    placeholders = message_for(delivery).placeholders
    assert {k: placeholders[k] for k in ("symbol", "price", "level", "condition", "alert_id", "note", "previous")} == {
        "symbol": "BTC",
        "price": 101.5,
        "level": 100.0,
        "condition": "crosses up 100",
        "alert_id": alert.pk,
        "note": "breakout",
        "previous": 99.0,
    }


@pytest.mark.parametrize("attempt", range(1, 7))
def test_a_transient_error_retries_after_the_schedule_s_delay_with_jitter(
    user, coins, fake, enqueued, attempt, django_capture_on_commit_callbacks
):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel, attempts=attempt - 1)
    fake.script = [TransportError("500 from the receiver")]
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        delivery_send(delivery.pk)
    after = timezone.now()
    delivery.refresh_from_db()
    delay = SCHEDULE[attempt - 1]
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("failed", attempt, "500 from the receiver")
    assert before + timedelta(seconds=0.8 * delay) <= delivery.next_attempt_at <= after + timedelta(seconds=1.2 * delay)
    [(ids, wait)] = enqueued
    assert ids == [delivery.pk] and 0.8 * delay - 1 <= wait <= 1.2 * delay


def test_a_delivery_goes_dead_once_the_schedule_is_spent(user, coins, fake, enqueued):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel, state="failed", attempts=len(SCHEDULE))
    fake.script = [TransportError("timed out")]
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("dead", 7)
    assert delivery.last_error == "retries spent (7 attempts): timed out"
    assert enqueued == []


def test_a_retry_that_would_come_after_the_max_age_goes_dead_instead(user, coins, fake, enqueued):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel, ago=3599, attempts=5)
    fake.script = [TransportError("503")]
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == "dead" and "NOTIFY_MAX_AGE" in delivery.last_error


def test_a_delivery_older_than_the_max_age_goes_dead_without_being_sent(user, coins, fake):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel, ago=3601)
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == "dead" and "NOTIFY_MAX_AGE" in delivery.last_error
    assert fake.calls == []


def test_telegram_s_retry_after_is_waited_exactly(user, coins, fake, enqueued):
    channel = channel_make(user, "telegram")
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    fake.script = [TransportError("429 Too Many Requests", retry_after=7)]
    before = timezone.now()
    delivery_send(delivery.pk)
    after = timezone.now()
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert before + timedelta(seconds=7) <= delivery.next_attempt_at <= after + timedelta(seconds=7)


def test_paced_deliveries_due_close_together_go_back_in_one_task(
    user, coins, fake, enqueued, django_capture_on_commit_callbacks
):
    channel = channel_make(user, "telegram")
    alert = alert_with(user, coins["BTC"], channel)
    deliveries = [delivery_make(alert, channel) for _ in range(3)]
    fake.script = [Paced(1.0), Paced(1.1), Paced(5.0)]  # the pool sends them in any order
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_send_batch([d.pk for d in deliveries])
    by_time = [pk for _, pk in sorted(Delivery.objects.values_list("next_attempt_at", "pk"))]
    [(together, soon), (alone, later)] = sorted(enqueued, key=lambda call: call[1])
    assert sorted(together) == sorted(by_time[:2]) and 0.5 < soon <= 1.0  # at the earlier one's time
    assert alone == by_time[2:] and 4.5 < later <= 5.0


def test_a_permanent_error_disables_the_channel_and_tells_its_owner(user, coins, fake, enqueued):
    channel = channel_make(user, "telegram")
    alert = alert_with(user, coins["BTC"], channel)
    delivery = delivery_make(alert, channel)
    fake.script = [TransportError("Forbidden: bot was blocked by the user", permanent=True)]
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    channel.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("dead", "Forbidden: bot was blocked by the user")
    assert (channel.enabled, channel.disabled_reason) == (False, "Forbidden: bot was blocked by the user")
    notice = Notification.objects.get(kind=Notification.Kind.CHANNEL_DISABLED)
    assert (notice.user, notice.alert, notice.symbol) == (user, alert, "BTC")
    assert "telegram channel 42 was disabled: Forbidden: bot was blocked by the user" in notice.message
    assert enqueued == []


def test_a_delivery_to_a_channel_disabled_since_goes_dead_unsent(user, coins, fake):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    Channel.objects.filter(pk=channel.pk).update(enabled=False, disabled_reason="410 Gone")
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("dead", "channel disabled: 410 Gone")
    assert fake.calls == []


def test_a_paced_send_waits_its_turn_without_counting_an_attempt(
    user, coins, fake, enqueued, django_capture_on_commit_callbacks
):
    channel = channel_make(user, "telegram")
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    fake.script = [Paced(0.75)]
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.held) == ("pending", 0, False)
    assert before + timedelta(seconds=0.75) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=0.75)
    [(ids, wait)] = enqueued
    assert ids == [delivery.pk] and 0.5 <= wait <= 0.75


def test_an_unexpected_error_is_a_transient_failure_logged_with_its_traceback(user, coins, fake, enqueued, caplog):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    fake.script = [RuntimeError("boom")]
    with caplog.at_level(logging.ERROR, logger="alerts.deliveries"):
        delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("failed", "RuntimeError: boom")
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)


def test_the_webhook_id_stays_the_same_across_retries_and_replays(user, coins, fake, enqueued):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    fake.script = [TransportError("500")]
    delivery_send(delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    delivery_send(delivery.pk)
    replay = delivery_replay(delivery=Delivery.objects.get(pk=delivery.pk))
    replay_of_replay = delivery_replay(delivery=replay)
    delivery_send(replay.pk)
    delivery_send(replay_of_replay.pk)
    assert [m.webhook_id for _, m in fake.calls] == [f"msg_{delivery.pk}"] * 4
    assert (replay.replay_of_id, replay_of_replay.replay_of_id) == (delivery.pk, delivery.pk)


def test_a_replay_is_a_new_pending_delivery_enqueued_on_commit(
    user, coins, fake, enqueued, django_capture_on_commit_callbacks
):
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel, state="sent")
    with django_capture_on_commit_callbacks(execute=True):
        replay = delivery_replay(delivery=delivery)
    assert (replay.state, replay.event_id, replay.channel_id) == ("pending", delivery.event_id, channel.pk)
    assert enqueued == [([replay.pk], 0.0)]


def test_a_batch_sends_to_every_receiver_concurrently(user, coins, fake):
    channels = [channel_make(user, url=f"https://hooks.example.com/{i}") for i in range(3)]
    alert = alert_with(user, coins["BTC"], *channels)
    deliveries = [delivery_make(alert, c) for c in channels]
    all_in = threading.Barrier(3, timeout=5)  # each send waits for the others: only concurrent sends pass
    fake.before_send = all_in.wait
    deliveries_send_batch([d.pk for d in deliveries])
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}


@pytest.mark.parametrize("size", [1, 6])
def test_a_batch_costs_the_same_statements_whatever_its_size_and_outcomes(
    user, coins, fake, enqueued, django_assert_num_queries, size
):
    channel = channel_make(user)
    alert = alert_with(user, coins["BTC"], channel)
    deliveries = [delivery_make(alert, channel) for _ in range(size)]
    fake.script = [TransportError("500"), None, Paced(1)][:size]
    with django_assert_num_queries(5):  # claim, load, savepoint, record, release
        deliveries_send_batch([d.pk for d in deliveries])


# --- claiming and sweeping -----------------------------------------------------------------------


def test_a_delivery_claimed_by_a_live_sender_is_not_sent_again(user, coins, fake):
    channel = channel_make(user)
    delivery = delivery_make(
        alert_with(user, coins["BTC"], channel), channel, state="sending", claimed_at=timezone.now(), attempts=1
    )
    delivery_send(delivery.pk)
    assert fake.calls == []
    assert deliveries_sweep() == 0


def test_the_sweep_takes_back_a_delivery_left_sending_past_the_lease(user, coins, fake, enqueued):
    channel = channel_make(user)
    lost = timezone.now() - timedelta(seconds=61)
    delivery = delivery_make(
        alert_with(user, coins["BTC"], channel), channel, state="sending", claimed_at=lost, attempts=1
    )
    assert deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("failed", "the sender was lost while sending")
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, len(fake.calls)) == ("sent", 2, 1)


def test_a_sending_delivery_past_the_lease_is_claimed_by_a_redelivered_task(user, coins, fake):
    channel = channel_make(user)
    lost = timezone.now() - timedelta(seconds=61)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel, state="sending", claimed_at=lost)
    delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == "sent" and len(fake.calls) == 1


def test_the_sweep_re_enqueues_due_deliveries_whose_task_is_lost_once_per_grace(
    user, coins, enqueued, django_capture_on_commit_callbacks
):
    channel = channel_make(user)
    alert = alert_with(user, coins["BTC"], channel)
    lost = delivery_make(alert, channel, created_at=timezone.now() - timedelta(seconds=20))
    fresh = delivery_make(alert, channel)
    retry = delivery_make(alert, channel, state="failed", next_attempt_at=timezone.now() - timedelta(seconds=16))
    later = delivery_make(alert, channel, state="failed", next_attempt_at=timezone.now() + timedelta(seconds=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep() == 2
        assert deliveries_sweep() == 0  # now due from this sweep on: the next sweeps leave it to its task
    assert enqueued == [([lost.pk, retry.pk], 0.0)]
    assert {fresh.pk, later.pk}.isdisjoint(enqueued[0][0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of a real PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sends_of_one_delivery_send_it_once(user, coins, fake):
    from django.db import connections

    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    start = threading.Barrier(2, timeout=5)

    def send() -> None:
        try:
            start.wait()
            delivery_send(delivery.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    delivery.refresh_from_db()
    assert (len(fake.calls), delivery.state, delivery.attempts) == (1, "sent", 1)
