# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""Price conditions on hand-worked paths: each kind fires where the table says, and nowhere else."""

from __future__ import annotations

import itertools

import pytest

from alerts.engine import AlertEngine
from alerts.models import AlertEvent
from alerts.tests.engine_helpers import T0, alert_make, bars_store, prices, trader  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def fired(alert, *batches) -> list[float]:
    """Prices at which ``alert`` fired over ``batches`` (every_time, no cooldown: each update counts)."""
    engine = AlertEngine()
    for batch in batches:
        engine.evaluate_prices(batch)
    return list(AlertEvent.objects.filter(alert=alert).order_by("fired_at").values_list("price", flat=True))


def path(symbol: str, *points: float, start: float = T0 + 1):
    """Updates along ``points``: each a batch of one update from the point before it, a second apart."""
    return [prices((symbol, a, b, start + i)) for i, (a, b) in enumerate(itertools.pairwise(points))]


def every(trader, coin, condition):
    return alert_make(trader, coin, condition, frequency="every_time", cooldown=0)


def test_price_above_holds_while_above_and_not_on_the_level(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "price_above", "level": 100})
    assert fired(alert, *path("BTC", 99, 100, 101, 102, 100, 99)) == [101, 102]


def test_price_below_holds_while_below_and_not_on_the_level(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "price_below", "level": 100})
    assert fired(alert, *path("BTC", 101, 100, 99, 98, 100)) == [99, 98]


def test_crossing_up_fires_from_exactly_on_the_level(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    assert fired(alert, *path("BTC", 99, 100, 101)) == [101]


def test_crossing_up_does_not_fire_on_reaching_the_level_or_staying_above(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    assert fired(alert, *path("BTC", 99, 100, 100, 99.5, 99.9)) == []
    assert fired(alert, *path("BTC", 101, 102, 103, start=T0 + 100)) == []


def test_crossing_down_fires_once_on_the_way_down(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "crossing_down", "level": 100})
    assert fired(alert, *path("BTC", 102, 101, 100, 99, 98, 101, 97)) == [99, 97]


def test_crossing_fires_both_ways(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "crossing", "level": 100})
    assert fired(alert, *path("BTC", 98, 101, 102, 99, 100, 100.5)) == [101, 99, 100.5]


def test_entering_channel_fires_on_entering_from_either_side_including_the_bounds(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "entering_channel", "low": 100, "high": 110})
    assert fired(alert, *path("BTC", 95, 100, 105, 111, 110, 120)) == [100, 110]


def test_exiting_channel_fires_on_leaving_it(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "exiting_channel", "low": 100, "high": 110})
    assert fired(alert, *path("BTC", 105, 110, 110.5, 109, 99.9)) == [110.5, 99.9]


def test_a_gap_over_the_whole_channel_neither_enters_nor_exits_it(coins, trader):
    entering = every(trader, coins["BTC"], {"kind": "entering_channel", "low": 100, "high": 110})
    exiting = every(trader, coins["BTC"], {"kind": "exiting_channel", "low": 100, "high": 110})
    crossing = every(trader, coins["BTC"], {"kind": "crossing_up", "level": 105})
    engine = AlertEngine()
    engine.evaluate_prices(prices(("BTC", 95, 120, T0 + 1)))
    assert not AlertEvent.objects.filter(alert__in=[entering, exiting]).exists()
    assert AlertEvent.objects.filter(alert=crossing).count() == 1


def test_moving_up_compares_with_the_close_bars_before_the_forming_bar(coins, trader):
    bars_store(coins["BTC"], [100, 104, 110], start=T0)  # bars opened T0, T0+60, T0+120
    alert = every(trader, coins["BTC"], {"kind": "moving_up", "percent": 5, "bars": 2})
    # Forming bar T0+180: 2 bars before it is T0+60 (close 104); 109.2 = +5 %.
    assert fired(alert, *path("BTC", 108, 109.1, 109.2, start=T0 + 185)) == [109.2]


def test_moving_up_takes_the_next_reference_across_a_bar_boundary(coins, trader):
    bars_store(coins["BTC"], [100, 104], start=T0)  # T0 (100), T0+60 (104)
    alert = every(trader, coins["BTC"], {"kind": "moving_up", "percent": 5, "bars": 1})
    engine = AlertEngine()
    engine.evaluate_prices(prices(("BTC", 108, 109.3, T0 + 119)))  # forming T0+60: reference 100, +9.3 %
    bars_store(coins["BTC"], [109.3], start=T0 + 120)  # the bar T0+120 closes; T0+60 closed at 104
    engine.evaluate_prices(prices(("BTC", 109.3, 109.3, T0 + 121)))  # forming T0+120: reference 104, +5.1 %
    engine.evaluate_prices(prices(("BTC", 109.3, 109.4, T0 + 181)))  # forming T0+180: reference 109.3, +0.1 %
    assert list(AlertEvent.objects.filter(alert=alert).order_by("fired_at").values_list("price", flat=True)) == [
        109.3,
        109.3,
    ]


def test_moving_down_needs_the_whole_percent(coins, trader):
    bars_store(coins["BTC"], [100], start=T0)
    alert = every(trader, coins["BTC"], {"kind": "moving_down", "percent": 2, "bars": 1})
    assert fired(alert, *path("BTC", 99, 98.01, 98, start=T0 + 61)) == [98]


def test_moving_up_does_not_fire_without_the_reference_bar(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "moving_up", "percent": 1, "bars": 1})
    assert fired(alert, *path("BTC", 100, 150, start=T0 + 61)) == []


def test_a_coin_updated_twice_in_a_batch_is_evaluated_update_by_update(coins, trader):
    alert = every(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    other = every(trader, coins["ETH"], {"kind": "crossing_down", "level": 50})
    batch = prices(
        ("BTC", 99, 101, T0 + 1), ("ETH", 51, 49, T0 + 1), ("BTC", 101, 99, T0 + 2), ("BTC", 99, 100.5, T0 + 3)
    )
    assert fired(alert, batch) == [101, 100.5]
    assert AlertEvent.objects.filter(alert=other).count() == 1


def test_an_alert_on_another_coin_does_not_fire(coins, trader):
    alert = every(trader, coins["ETH"], {"kind": "crossing_up", "level": 100})
    assert fired(alert, *path("BTC", 99, 101)) == []


def test_all_of_price_terms_fire_only_when_both_hold_on_the_same_update(coins, trader):
    alert = every(
        trader,
        coins["BTC"],
        {
            "kind": "all_of",
            "conditions": [{"kind": "crossing_up", "level": 100}, {"kind": "price_below", "level": 103}],
        },
    )
    assert fired(alert, *path("BTC", 99, 104, 99, 101)) == [101]
