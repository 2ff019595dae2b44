# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""Frequencies as TradingView defines them, on hand-worked paths."""

from __future__ import annotations

import pytest

from alerts.engine import AlertEngine
from alerts.models import Alert, AlertEvent
from alerts.tests.engine_helpers import T0, alert_make, bars_store, closed, prices, trader  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
ABOVE = {"kind": "price_above", "level": 100}


def times(alert) -> list[float]:
    return [
        e.timestamp()
        for e in AlertEvent.objects.filter(alert=alert).order_by("fired_at").values_list("fired_at", flat=True)
    ]


def run(*batches):
    engine = AlertEngine()
    for batch in batches:
        engine.evaluate_prices(batch)
    return engine


def test_only_once_fires_once_and_is_spent(coins, trader):
    alert = alert_make(trader, coins["BTC"], ABOVE)
    run(prices(("BTC", 99, 101, T0 + 1)), prices(("BTC", 101, 102, T0 + 2)), prices(("BTC", 102, 103, T0 + 90)))
    alert.refresh_from_db()
    assert (times(alert), alert.status, alert.fire_count) == ([T0 + 1], "triggered", 1)


def test_once_per_bar_fires_at_the_first_update_of_each_bar_where_it_holds(coins, trader):
    alert = alert_make(trader, coins["BTC"], ABOVE, frequency="once_per_bar")
    run(
        prices(("BTC", 99, 99.5, T0 + 1)),
        prices(("BTC", 99.5, 101, T0 + 20)),
        prices(("BTC", 101, 102, T0 + 40)),
        prices(("BTC", 102, 99, T0 + 61)),
        prices(("BTC", 99, 101, T0 + 70)),
        prices(("BTC", 101, 103, T0 + 119)),
    )
    alert.refresh_from_db()
    assert times(alert) == [T0 + 20, T0 + 70]
    assert (alert.status, alert.last_fired_bar, alert.fire_count) == ("active", T0 + 60, 2)


def test_once_per_bar_counts_bars_of_the_alerts_timeframe(coins, trader):
    alert = alert_make(trader, coins["BTC"], ABOVE, frequency="once_per_bar", timeframe="5m")
    run(prices(("BTC", 99, 101, T0 + 1)), prices(("BTC", 101, 102, T0 + 200)), prices(("BTC", 102, 103, T0 + 301)))
    assert times(alert) == [T0 + 1, T0 + 301]


def test_every_time_respects_the_cooldown(coins, trader):
    alert = alert_make(trader, coins["BTC"], ABOVE, frequency="every_time", cooldown=10)
    run(*(prices(("BTC", 101, 101, T0 + s)) for s in (1, 5, 10.999, 11, 15, 30)))
    assert times(alert) == [T0 + 1, T0 + 11, T0 + 30]


def test_once_per_bar_close_ignores_updates_inside_the_bar(coins, trader):
    alert = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100}, frequency="once_per_bar_close")
    run(prices(("BTC", 99, 101, T0 + 1)), prices(("BTC", 101, 99, T0 + 30)))
    assert times(alert) == []


def test_once_per_bar_close_evaluates_the_close_against_the_previous_close(coins, trader):
    bars = bars_store(coins["BTC"], [99, 98, 101, 102, 99.5, 100.5])
    alert = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100}, frequency="once_per_bar_close")
    engine = AlertEngine()
    for bar in bars[1:]:
        engine.evaluate_bars(closed("BTC", bar))
    events = list(AlertEvent.objects.filter(alert=alert).order_by("fired_at"))
    assert [(e.price, e.fired_at.timestamp(), e.key) for e in events] == [
        (101, T0 + 180, f"bar:{T0 + 120}"),
        (100.5, T0 + 360, f"bar:{T0 + 300}"),
    ]


def test_once_per_bar_close_fires_once_when_the_close_is_announced_twice(coins, trader):
    bars = bars_store(coins["BTC"], [99, 101])
    alert = alert_make(trader, coins["BTC"], {"kind": "crossing_up", "level": 100}, frequency="once_per_bar_close")
    engine = AlertEngine()
    engine.evaluate_bars(closed("BTC", bars[1]))
    engine.evaluate_bars(closed("BTC", bars[1]))
    AlertEngine().evaluate_bars(closed("BTC", bars[1]))
    assert AlertEvent.objects.filter(alert=alert).count() == 1


def test_an_expired_alert_never_fires_and_is_marked_expired(coins, trader):
    from datetime import UTC, datetime

    alert = alert_make(
        trader, coins["BTC"], ABOVE, frequency="every_time", expires_at=datetime.fromtimestamp(T0 + 10, UTC)
    )
    engine = run(
        prices(("BTC", 99, 101, T0 + 1)), prices(("BTC", 101, 102, T0 + 10)), prices(("BTC", 102, 103, T0 + 70))
    )
    alert.refresh_from_db()
    assert times(alert) == [T0 + 1]
    assert alert.status == Alert.Status.EXPIRED
    assert not engine.table.live[0]


def test_a_paused_alert_is_not_loaded(coins, trader):
    alert = alert_make(trader, coins["BTC"], ABOVE, status="paused")
    run(prices(("BTC", 99, 101, T0 + 1)))
    assert times(alert) == []
