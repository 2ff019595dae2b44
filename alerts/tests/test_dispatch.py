# ruff: noqa: F811  (fixtures imported from delivery_helpers)
"""Handing deliveries over: Celery tasks on the notify queue in full stack, the in-process sender's
threads in embedded mode (never the caller's thread), the sweep on beat and at a notify worker's start."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings

from alerts import dispatch, tasks
from alerts.dispatch import LocalSender, deliveries_enqueue
from alerts.models import Delivery
from alerts.tests.delivery_helpers import alert_with, channel_make, delivery_make, fake  # noqa: F401 (fixtures)


@pytest.fixture
def published(monkeypatch) -> list[dict]:
    calls = []
    monkeypatch.setattr(
        tasks.deliveries_send, "apply_async", lambda args, **options: calls.append({"args": args, **options})
    )
    return calls


def test_full_stack_sends_tasks_of_at_most_25_deliveries_with_the_delay(settings, published):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    deliveries_enqueue(list(range(1, 61)), delay=2.5)
    assert [(len(c["args"][0]), c["countdown"]) for c in published] == [(25, 2.5), (25, 2.5), (10, 2.5)]
    assert [pk for c in published for pk in c["args"][0]] == list(range(1, 61))


def test_the_send_task_goes_to_the_notify_queue_acknowledged_late():
    assert django_settings.CELERY_TASK_ROUTES["alerts.tasks.deliveries_send"] == {"queue": "notify"}
    assert tasks.deliveries_send.acks_late is True


def test_the_sweep_runs_every_five_seconds_on_the_notify_queue():
    entry = django_settings.CELERY_BEAT_SCHEDULE["deliveries-sweep"]
    assert (entry["task"], entry["schedule"].total_seconds()) == ("alerts.tasks.deliveries_sweep_due", 5)
    assert django_settings.CELERY_TASK_ROUTES["alerts.tasks.deliveries_sweep_due"] == {"queue": "notify"}


@pytest.mark.parametrize(("queues", "swept"), [({"notify": None}, 1), ({"default": None, "ai": None}, 0)])
def test_a_worker_consuming_notify_sweeps_when_it_starts(monkeypatch, queues, swept):
    calls = []
    monkeypatch.setattr(tasks.deliveries_sweep_due, "apply_async", lambda **options: calls.append(options))
    worker = SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=queues))))
    tasks._sweep_when_a_notify_worker_starts(sender=worker)
    assert len(calls) == swept


def test_the_local_sender_runs_jobs_off_the_caller_s_thread():
    sender, ran = LocalSender(threads=2, sweep_every=None), []
    done = threading.Event()
    sender.submit(lambda: (ran.append(threading.current_thread().name), done.set()))
    assert done.wait(5)
    assert ran[0].startswith("notify-sender-") and ran[0] != threading.current_thread().name


def test_the_local_sender_runs_a_delayed_job_when_due_and_not_before():
    sender, done = LocalSender(threads=1, sweep_every=None), threading.Event()
    started = time.monotonic()
    sender.submit(lambda: done.set(), delay=0.3)
    sender.submit(lambda: None)  # a job now does not release the delayed one early
    assert done.wait(5)
    assert time.monotonic() - started >= 0.3


def test_a_failing_job_does_not_stop_the_local_sender():
    sender, done = LocalSender(threads=1, sweep_every=None), threading.Event()
    sender.submit(lambda: 1 / 0)
    sender.submit(done.set)
    assert done.wait(5)


def test_the_local_sender_sweeps_periodically(monkeypatch):
    swept = threading.Event()
    monkeypatch.setattr(dispatch, "_sweep_job", swept.set)
    sender = LocalSender(threads=1, sweep_every=0.05)
    sender.submit(lambda: None)
    assert swept.wait(5)
    sender.sweep_every = None  # stop sweeping after this test


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_sends_a_delivery_on_a_sender_thread(settings, monkeypatch, user, coins, fake):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(dispatch, "_local", LocalSender(threads=1, sweep_every=None))
    caller = threading.current_thread().name
    senders = []
    fake.before_send = lambda: senders.append(threading.current_thread().name)
    channel = channel_make(user)
    delivery = delivery_make(alert_with(user, coins["BTC"], channel), channel)
    deliveries_enqueue([delivery.pk])
    deadline = time.monotonic() + 10
    while Delivery.objects.get(pk=delivery.pk).state != "sent" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert Delivery.objects.get(pk=delivery.pk).state == "sent"
    assert senders and senders[0] != caller
