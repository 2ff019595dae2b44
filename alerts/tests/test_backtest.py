"""The backtest replays stored candles through the engine's own code."""

from __future__ import annotations

import time

import numpy as np
import pytest

from alerts.backtest import alert_backtest
from alerts.conditions import condition_clean
from alerts.models import AlertEvent
from alerts.tests.engine_helpers import bars_store

pytestmark = pytest.mark.django_db


def recent_start(count: int, seconds: int = 60) -> int:
    """The open time that makes ``count`` bars end at the current bar."""
    now = int(time.time()) // seconds * seconds
    return now - count * seconds


def test_a_crossing_backtest_counts_each_crossing_of_the_1m_closes(coins):
    start = recent_start(6)
    bars_store(coins["BTC"], [99, 101, 102, 99, 101, 100], start=start)
    result = alert_backtest(
        symbol="btc",
        condition=condition_clean({"kind": "crossing_up", "level": 100}),
        frequency="every_time",
        timeframe="1m",
        cooldown=0,
    )
    assert result["count"] == 2
    assert [f["price"] for f in result["firings"]] == [101, 101]
    assert result["firings"][0]["time"].endswith(":59.999Z")
    assert (result["days"], result["replayed_on"]) == (30, "1m closes")


def test_a_backtest_applies_the_frequency(coins):
    bars_store(coins["BTC"], [99, 101, 99, 101], start=recent_start(4))
    result = alert_backtest(
        symbol="BTC",
        condition=condition_clean({"kind": "crossing_up", "level": 100}),
        frequency="only_once",
        timeframe="1m",
        cooldown=0,
    )
    assert result["count"] == 1


def test_a_backtest_ignores_candles_older_than_its_days(coins):
    bars_store(coins["BTC"], [99, 101], start=recent_start(2, 60) - 3 * 86400)
    result = alert_backtest(
        symbol="BTC",
        condition=condition_clean({"kind": "crossing_up", "level": 100}),
        frequency="every_time",
        timeframe="1m",
        cooldown=0,
        days=2,
    )
    assert result["count"] == 0


def test_a_bar_condition_backtest_evaluates_each_stored_bar_close(coins):
    closes = np.r_[np.full(30, 100.0), [100.0, 100.0, 130.0, 131.0]]
    volumes = np.r_[np.ones(32), [10.0, 1.0]]
    bars_store(coins["ETH"], closes, volumes=volumes, timeframe="1h", seconds=3600, start=recent_start(34, 3600))
    result = alert_backtest(
        symbol="ETH",
        condition=condition_clean({"kind": "volume_spike", "factor": 5, "bars": 20}),
        frequency="once_per_bar",
        timeframe="1h",
        cooldown=60,
    )
    assert [f["price"] for f in result["firings"]] == [130.0]
    assert result["replayed_on"] == "1h bars"


def test_a_backtest_stores_nothing(coins):
    bars_store(coins["BTC"], [99, 101], start=recent_start(2))
    alert_backtest(
        symbol="BTC",
        condition=condition_clean({"kind": "crossing_up", "level": 100}),
        frequency="every_time",
        timeframe="1m",
        cooldown=0,
    )
    assert not AlertEvent.objects.exists()
