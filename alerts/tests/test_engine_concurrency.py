# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""Two engines on the same batches (PostgreSQL, committed transactions): each firing stored once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from alerts.engine import AlertEngine
from alerts.models import Alert, AlertEvent, Notification
from alerts.tests.engine_helpers import T0, alert_make, prices, trader  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")

BATCHES = [
    prices(("BTC", 99, 101, T0 + 1), ("ETH", 49, 51, T0 + 1)),
    prices(("BTC", 101, 99, T0 + 2), ("ETH", 51, 52, T0 + 2)),
    prices(("BTC", 99, 101, T0 + 3), ("ETH", 52, 53, T0 + 61)),
]


def run_together(batches) -> None:
    """Two engines, each in its own thread (and connection), evaluating the same batches at once."""
    engines = [AlertEngine(), AlertEngine()]
    start = threading.Barrier(2)
    errors = []

    def work(engine):
        try:
            engine.load()
            start.wait()
            for batch in batches:
                engine.evaluate_prices(batch)
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors


def test_two_engines_store_each_firing_once(transactional_db, coins, trader):
    once = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    every = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100}, frequency="every_time", cooldown=0)
    per_bar = alert_make(trader, coins["ETH"], {"kind": "price_above", "level": 50}, frequency="once_per_bar")
    run_together(BATCHES)
    counts = {a.pk: AlertEvent.objects.filter(alert=a).count() for a in (once, every, per_bar)}
    assert counts == {once.pk: 1, every.pk: 2, per_bar.pk: 2}
    assert Notification.objects.count() == 5
    assert [Alert.objects.get(pk=a.pk).fire_count for a in (once, every, per_bar)] == [1, 2, 2]


def test_two_engines_fire_an_only_once_alert_once_among_many(transactional_db, coins, trader):
    alerts = [alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 100}) for _ in range(200)]
    run_together([prices(("BTC", 99, 101, T0 + 1)), prices(("BTC", 101, 102, T0 + 2))])
    assert AlertEvent.objects.count() == len(alerts)
    assert set(Alert.objects.values_list("status", flat=True)) == {"triggered"}
