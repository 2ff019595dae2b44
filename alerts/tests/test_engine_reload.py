# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""An engine brought up to date after alerts change: only the changed alerts are read again, and what
it remembers of the others is kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

import alerts.engine_load as engine_load
from alerts.changes import alerts_changed
from alerts.engine import AlertEngine
from alerts.models import Alert, AlertEvent
from alerts.tests.engine_helpers import T0, alert_make, prices, trader  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reads(monkeypatch):
    """The ids each read of alert rows asked for (None: every active alert); no margin before the last
    load, so that alerts made before it count as unchanged."""
    asked = []
    read = engine_load.alert_rows_read

    def recorded(*, coin_ids, ids=None):
        asked.append(None if ids is None else sorted(ids))
        return read(coin_ids=coin_ids, ids=ids)

    monkeypatch.setattr(engine_load, "alert_rows_read", recorded)
    monkeypatch.setattr("alerts.engine.RELOAD_MARGIN", timedelta(0))
    return asked


def changed(capture, work=None) -> None:
    with capture(execute=True):
        if work:
            work()
        alerts_changed()


def test_an_edited_alert_is_read_again_alone(coins, trader, reads, django_capture_on_commit_callbacks):
    edited = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 200})
    alert_make(trader, coins["ETH"], {"kind": "crossing_up", "level": 200})
    engine = AlertEngine()
    engine.load()
    edited.condition = {"kind": "crossing_up", "level": 100}
    changed(django_capture_on_commit_callbacks, edited.save)
    engine.evaluate_prices(prices(("BTC", 99, 101, T0 + 1), ("ETH", 99, 101, T0 + 1)))
    assert reads == [None, [edited.pk]]
    assert list(AlertEvent.objects.values_list("alert_id", flat=True)) == [edited.pk]


def test_a_new_alert_is_read_and_fires(coins, trader, reads, django_capture_on_commit_callbacks):
    engine = AlertEngine()
    engine.load()
    made = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    changed(django_capture_on_commit_callbacks)
    engine.evaluate_prices(prices(("BTC", 99, 101, T0 + 1)))
    assert AlertEvent.objects.filter(alert=made).count() == 1


def test_deleted_and_paused_alerts_stop_firing(coins, trader, reads, django_capture_on_commit_callbacks):
    deleted, paused, kept = (alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100}) for _ in range(3))
    engine = AlertEngine()
    engine.load()
    changed(django_capture_on_commit_callbacks, deleted.delete)
    Alert.objects.filter(pk=paused.pk).update(status="paused")  # a status change without updated_at
    changed(django_capture_on_commit_callbacks)
    engine.evaluate_prices(prices(("BTC", 99, 101, T0 + 1)))
    assert list(AlertEvent.objects.values_list("alert_id", flat=True)) == [kept.pk]
    assert reads == [None, []]


def test_an_alert_made_active_without_a_new_updated_at_is_read(
    coins, trader, reads, django_capture_on_commit_callbacks
):
    resumed = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100}, status="paused")
    engine = AlertEngine()
    engine.load()
    changed(django_capture_on_commit_callbacks, lambda: Alert.objects.filter(pk=resumed.pk).update(status="active"))
    engine.evaluate_prices(prices(("BTC", 99, 101, T0 + 1)))
    assert (reads, AlertEvent.objects.filter(alert=resumed).count()) == ([None, [resumed.pk]], 1)


def test_unchanged_alerts_keep_what_the_engine_remembers(coins, trader, reads, django_capture_on_commit_callbacks):
    expiring = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 100}, frequency="every_time")
    other = alert_make(trader, coins["ETH"], {"kind": "crossing_up", "level": 200})
    engine = AlertEngine()
    engine.load()
    row = engine.table.row_of(expiring.pk)
    engine.table.live[row] = False  # as when the engine saw it expire before the database marks it
    engine.table.last_ms[row] = 123
    other.note = "edited"
    changed(django_capture_on_commit_callbacks, other.save)
    engine.refresh()
    row = engine.table.row_of(expiring.pk)
    assert (bool(engine.table.live[row]), int(engine.table.last_ms[row]), reads) == (False, 123, [None, [other.pk]])


def test_a_new_coin_reads_every_alert_again(coins, trader, reads, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from markets.models import Coin

    alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    engine = AlertEngine()
    engine.load()
    Coin.objects.create(symbol="NEWC", name="New coin", rank=99, price=1.0, updated_at=timezone.now())
    changed(django_capture_on_commit_callbacks)
    engine.refresh()
    assert (reads, "NEWC" in engine.table.symbols) == ([None, None], True)


def test_many_changed_alerts_are_read_again_all_at_once(
    coins, trader, reads, monkeypatch, django_capture_on_commit_callbacks
):
    made = [alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 200}) for _ in range(3)]
    engine = AlertEngine()
    engine.load()
    monkeypatch.setattr(engine_load, "FRESH_AT_MOST", 1)
    for alert in made[:2]:
        alert.condition = {"kind": "crossing_up", "level": 100}
        alert.save()
    changed(django_capture_on_commit_callbacks)
    engine.evaluate_prices(prices(("BTC", 99, 101, T0 + 1)))
    assert reads == [None, None]
    assert sorted(AlertEvent.objects.values_list("alert_id", flat=True)) == [made[0].pk, made[1].pk]
