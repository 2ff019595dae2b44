# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""Storing firings: events, notifications, counters, auto-pause, expiry, restarts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.engine import AlertEngine
from alerts.firing import Firing, alerts_expire, firings_store
from alerts.models import Alert, AlertEvent, Notification
from alerts.tests.engine_helpers import T0, alert_make, prices, trader  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_a_firing_stores_an_event_and_a_notification_with_the_rendered_message(coins, trader):
    alert = alert_make(
        trader,
        coins["BTC"],
        {"kind": "crossing_up", "level": 100},
        message="{{symbol}} crossed {{level}} at {{price}} ({{condition}}, {{timeframe}}) {{time}} #{{alert_id}}",
    )
    AlertEngine().evaluate_prices(prices(("BTC", 99, 101.25, T0 + 1.5)))
    event = AlertEvent.objects.get(alert=alert)
    expected = f"BTC crossed 100 at 101.25 (crosses up 100, 1m) 2026-12-07T00:00:01.500Z #{alert.pk}"
    assert (event.message, event.price, event.key, event.values) == (
        expected,
        101.25,
        f"t:{T0 * 1000 + 1500}",
        {"previous": 99.0},
    )
    assert event.bar_open == datetime.fromtimestamp(T0, UTC)
    notification = Notification.objects.get()
    assert (notification.user, notification.event, notification.kind, notification.message) == (
        trader,
        event,
        "fired",
        expected,
    )


def test_an_only_once_claim_succeeds_once(coins, trader):
    alert = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 1})
    firing = Firing(alert_id=alert.pk, key=f"t:{T0 * 1000}", fired_ms=T0 * 1000, price=2, bar_open=T0)
    later = Firing(alert_id=alert.pk, key=f"t:{T0 * 1000 + 1}", fired_ms=T0 * 1000 + 1, price=2, bar_open=T0)
    assert firings_store([firing]).claimed == {alert.pk}
    assert firings_store([later]).claimed == set()
    assert AlertEvent.objects.count() == 1


def test_a_restart_between_updates_does_not_repeat_a_once_per_bar_firing(coins, trader):
    alert = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 100}, frequency="once_per_bar")
    AlertEngine().evaluate_prices(prices(("BTC", 99, 101, T0 + 1)))
    restarted = AlertEngine()
    restarted.evaluate_prices(prices(("BTC", 101, 102, T0 + 2)))
    restarted.evaluate_prices(prices(("BTC", 102, 103, T0 + 61)))
    assert list(AlertEvent.objects.filter(alert=alert).order_by("fired_at").values_list("price", flat=True)) == [
        101,
        103,
    ]


def test_a_restart_between_updates_does_not_lose_a_crossing(coins, trader):
    alert = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    AlertEngine().evaluate_prices(prices(("BTC", 98, 99, T0 + 1)))
    AlertEngine().evaluate_prices(prices(("BTC", 99, 100.5, T0 + 2)))
    assert AlertEvent.objects.filter(alert=alert).count() == 1


def test_a_restart_keeps_the_every_time_cooldown(coins, trader):
    alert = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 100}, frequency="every_time", cooldown=60)
    AlertEngine().evaluate_prices(prices(("BTC", 99, 101, T0 + 1)))
    AlertEngine().evaluate_prices(prices(("BTC", 101, 102, T0 + 30)))
    AlertEngine().evaluate_prices(prices(("BTC", 102, 103, T0 + 61)))
    assert list(AlertEvent.objects.filter(alert=alert).values_list("price", flat=True).order_by("fired_at")) == [
        101,
        103,
    ]


def test_more_than_15_firings_in_3_minutes_auto_pause_the_alert_and_tell_its_owner(coins, trader):
    alert = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 100}, frequency="every_time", cooldown=1)
    engine = AlertEngine()
    for second in range(0, 40, 2):
        engine.evaluate_prices(prices(("BTC", 101, 101, T0 + second)))
    alert.refresh_from_db()
    assert (alert.status, alert.fire_count) == ("auto_paused", 16)
    notice = Notification.objects.get(kind="auto_paused")
    assert (notice.user, notice.alert, notice.symbol) == (trader, alert, "BTC")
    assert "16 times in 3 minutes" in notice.message


def test_15_firings_in_3_minutes_do_not_pause(coins, trader):
    alert = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 100}, frequency="every_time", cooldown=12)
    engine = AlertEngine()
    for second in range(0, 400, 12):
        engine.evaluate_prices(prices(("BTC", 101, 101, T0 + second)))
    alert.refresh_from_db()
    assert (alert.status, alert.fire_count) == ("active", 34)


def test_alerts_expire_marks_only_active_alerts_past_their_expiry(coins, trader):
    past, future = datetime(2020, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)
    due = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 1}, expires_at=past)
    paused = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 1}, expires_at=past, status="paused")
    later = alert_make(trader, coins["BTC"], {"kind": "price_above", "level": 1}, expires_at=future)
    assert alerts_expire() == 1
    assert [Alert.objects.get(pk=a.pk).status for a in (due, paused, later)] == ["expired", "paused", "active"]


def test_an_engine_reloads_when_the_alerts_change(coins, trader, django_capture_on_commit_callbacks):
    from alerts.changes import alerts_changed

    engine = AlertEngine()
    engine.evaluate_prices(prices(("BTC", 99, 99, T0)))
    alert = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    with django_capture_on_commit_callbacks(execute=True):
        alerts_changed()
    engine.evaluate_prices(prices(("BTC", 99, 101, T0 + 1)))
    assert AlertEvent.objects.filter(alert=alert).count() == 1
