# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""Bar conditions: evaluated at closes on closed bars only, readings as TA-Lib defines them."""

from __future__ import annotations

import numpy as np
import pytest
import talib

from alerts.engine import AlertEngine
from alerts.models import AlertEvent
from alerts.readings import BarReadings
from alerts.tests.engine_helpers import T0, alert_make, bars_store, closed, prices, trader  # noqa: F401 (fixtures)
from markets.candles import CLOSE

pytestmark = pytest.mark.django_db


def walk(count: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, count)))


def close_through(engine, symbol, bars, first: int) -> None:
    """Announce each bar from index ``first`` on as it closes."""
    for bar in bars[first:]:
        engine.evaluate_bars(closed(symbol, bar))


def bar_rows(closes) -> np.ndarray:
    closes = np.asarray(closes, dtype=float)
    opens = np.r_[closes[0], closes[:-1]]
    return np.column_stack(
        [
            T0 + 60 * np.arange(len(closes)),
            opens,
            np.maximum(opens, closes),
            np.minimum(opens, closes),
            closes,
            np.ones(len(closes)),
        ]
    )


def test_rsi_reading_matches_talib():
    bars = bar_rows(walk(300))
    readings = BarReadings(bars, [{"kind": "rsi_above", "level": 70, "length": 14}])
    expected = talib.RSI(bars[:, CLOSE], timeperiod=14)
    assert readings.last("rsi:14") == pytest.approx(expected[-1], rel=1e-9)
    assert readings.last("rsi:14", 1) == pytest.approx(expected[-2], rel=1e-9)


def test_macd_reading_matches_talib():
    bars = bar_rows(walk(300))
    readings = BarReadings(bars, [{"kind": "macd_cross_bullish", "fast": 12, "slow": 26, "signal": 9}])
    macd, signal, _ = talib.MACD(bars[:, CLOSE], fastperiod=12, slowperiod=26, signalperiod=9)
    assert readings.last("macd:(12, 26, 9)") == pytest.approx(macd[-1], rel=1e-6)
    assert readings.last("macd_signal:(12, 26, 9)") == pytest.approx(signal[-1], rel=1e-6)


def test_bollinger_and_sma_readings_match_talib():
    bars = bar_rows(walk(300))
    readings = BarReadings(
        bars, [{"kind": "bb_break_upper", "length": 20, "std": 2.0}, {"kind": "ma_cross_golden", "fast": 5, "slow": 30}]
    )
    upper, _middle, lower = talib.BBANDS(bars[:, CLOSE], timeperiod=20, nbdevup=2, nbdevdn=2)
    assert readings.last("bb_upper:(20, 2.0)") == pytest.approx(upper[-1], rel=1e-9)
    assert readings.last("bb_lower:(20, 2.0)") == pytest.approx(lower[-1], rel=1e-9)
    assert readings.last("sma_30") == pytest.approx(talib.SMA(bars[:, CLOSE], timeperiod=30)[-1], rel=1e-9)


def test_rsi_crosses_above_fires_at_the_close_where_rsi_crosses(coins, trader):
    closes = np.r_[100 - np.arange(40) * 0.5, 80 + np.arange(20) * 1.5]  # down, then up hard
    bars = bars_store(coins["BTC"], closes)
    alert = alert_make(trader, coins["BTC"], {"kind": "rsi_crosses_above", "level": 50})
    close_through(AlertEngine(), "BTC", bars, 30)
    rsi = talib.RSI(closes, timeperiod=14)
    crossing = next(i for i in range(31, len(closes)) if rsi[i - 1] <= 50 < rsi[i])
    event = AlertEvent.objects.get(alert=alert)
    assert event.bar_open.timestamp() == T0 + 60 * crossing
    assert event.fired_at.timestamp() == T0 + 60 * (crossing + 1)
    assert event.values["rsi"] == pytest.approx(rsi[crossing], rel=1e-6)


def test_bar_conditions_never_fire_on_price_updates(coins, trader):
    bars = bars_store(coins["BTC"], np.full(40, 100.0))
    alert = alert_make(trader, coins["BTC"], {"kind": "rsi_above", "level": 10}, frequency="every_time", cooldown=0)
    AlertEngine().evaluate_prices(prices(("BTC", 100, 150, bars[-1][0] + 61)))
    assert not AlertEvent.objects.filter(alert=alert).exists()


def test_a_bar_condition_reads_only_bars_up_to_the_announced_one(coins, trader):
    closes = np.r_[np.full(30, 100.0), 100.0, 200.0]  # the stored bar after the announced one spikes
    bars = bars_store(coins["BTC"], closes)
    alert = alert_make(trader, coins["BTC"], {"kind": "bb_break_upper"})
    AlertEngine().evaluate_bars(closed("BTC", bars[-2]))
    assert not AlertEvent.objects.filter(alert=alert).exists()
    AlertEngine().evaluate_bars(closed("BTC", bars[-1]))
    assert AlertEvent.objects.filter(alert=alert).count() == 1


def test_macd_bullish_crosses_fire_at_talibs_crossing_bars(coins, trader):
    closes = walk(260, seed=11)
    bars = bars_store(coins["BTC"], closes)
    alert = alert_make(trader, coins["BTC"], {"kind": "macd_cross_bullish"}, frequency="every_time", cooldown=0)
    close_through(AlertEngine(), "BTC", bars, 190)
    macd, signal, _ = talib.MACD(closes)
    crossings = [i for i in range(190, len(closes)) if macd[i - 1] <= signal[i - 1] and macd[i] > signal[i]]
    fired = sorted(e.bar_open.timestamp() for e in AlertEvent.objects.filter(alert=alert))
    assert fired == [T0 + 60 * i for i in crossings]
    assert len(crossings) >= 2


def test_golden_cross_fires_where_the_fast_average_crosses_the_slow(coins, trader):
    closes = np.r_[np.full(20, 100.0), 100 - np.arange(10), 91 + np.arange(10) * 3]
    bars = bars_store(coins["BTC"], closes)
    alert = alert_make(
        trader, coins["BTC"], {"kind": "ma_cross_golden", "fast": 3, "slow": 10}, frequency="every_time", cooldown=0
    )
    close_through(AlertEngine(), "BTC", bars, 12)
    fast, slow = talib.SMA(closes, 3), talib.SMA(closes, 10)
    expected = [i for i in range(13, len(closes)) if fast[i - 1] <= slow[i - 1] and fast[i] > slow[i]]
    assert [e.bar_open.timestamp() for e in AlertEvent.objects.filter(alert=alert)] == [T0 + 60 * i for i in expected]


def test_volume_spike_needs_the_factor_times_the_mean_of_the_bars_before(coins, trader):
    condition = {"kind": "volume_spike", "factor": 3, "bars": 10}  # mean of the 10 before: 2, times 3: 6
    exactly = bars_store(coins["BTC"], np.full(12, 100.0), volumes=np.r_[9.0, np.full(10, 2.0), 6.0])
    short = bars_store(coins["ETH"], np.full(12, 100.0), volumes=np.r_[9.0, np.full(10, 2.0), 5.9])
    spike = alert_make(trader, coins["BTC"], condition)
    none = alert_make(trader, coins["ETH"], condition)
    engine = AlertEngine()
    engine.evaluate_bars(closed("BTC", exactly[-1]))
    engine.evaluate_bars(closed("ETH", short[-1]))
    assert [e.values for e in AlertEvent.objects.filter(alert=spike)] == [{"volume": 6.0, "volume_mean": 2.0}]
    assert not AlertEvent.objects.filter(alert=none).exists()


def test_all_of_with_a_bar_condition_evaluates_price_terms_on_the_close(coins, trader):
    volumes = np.r_[np.full(10, 1.0), 5.0, 5.0]
    bars = bars_store(coins["BTC"], np.r_[np.full(10, 99.0), 101.0, 102.0], volumes=volumes)
    condition = {
        "kind": "all_of",
        "conditions": [{"kind": "crossing_up", "level": 100}, {"kind": "volume_spike", "factor": 2, "bars": 5}],
    }
    alert = alert_make(trader, coins["BTC"], condition, frequency="every_time", cooldown=0)
    engine = AlertEngine()
    engine.evaluate_prices(prices(("BTC", 99, 101, T0 + 601)))
    for bar in bars[-2:]:
        engine.evaluate_bars(closed("BTC", bar))
    assert [e.price for e in AlertEvent.objects.filter(alert=alert)] == [101.0]


def test_a_bar_condition_fires_once_per_bar_whatever_the_frequency(coins, trader):
    bars = bars_store(coins["BTC"], np.r_[np.full(10, 1.0)], volumes=np.r_[np.ones(9), 9.0])
    alert = alert_make(
        trader, coins["BTC"], {"kind": "volume_spike", "factor": 2, "bars": 5}, frequency="every_time", cooldown=0
    )
    engine = AlertEngine()
    engine.evaluate_bars(closed("BTC", bars[-1]))
    engine.evaluate_bars(closed("BTC", bars[-1]))
    assert AlertEvent.objects.filter(alert=alert).count() == 1


def test_pattern_detected_reports_a_finding_once_across_bars(coins, trader):
    from datetime import UTC, datetime

    from markets.analysis.synthetic import series_generate
    from markets.models import Candle

    bars = series_generate("double_top", np.random.default_rng(0), length=200).bars  # daily bars
    Candle.objects.bulk_create(
        Candle(
            coin=coins["BTC"],
            timeframe="1d",
            open_time=datetime.fromtimestamp(int(b[0]), UTC),
            open=b[1],
            high=b[2],
            low=b[3],
            close=b[4],
            volume=b[5],
        )
        for b in bars
    )
    wanted = alert_make(
        trader,
        coins["BTC"],
        {"kind": "pattern_detected", "patterns": ["double_top"]},
        timeframe="1d",
        frequency="every_time",
        cooldown=0,
    )
    other = alert_make(trader, coins["BTC"], {"kind": "pattern_detected", "patterns": ["bull_flag"]}, timeframe="1d")
    engine = AlertEngine()
    engine.evaluate_bars(closed("BTC", bars[-2], "1d"))
    AlertEngine().evaluate_bars(closed("BTC", bars[-1], "1d"))  # a restarted engine remembers the finding
    events = list(AlertEvent.objects.filter(alert=wanted))
    assert [(e.values["pattern"], e.bar_open.timestamp()) for e in events] == [("double_top", bars[-2][0])]
    assert events[0].values["confidence"] >= 0.5
    assert not AlertEvent.objects.filter(alert=other).exists()
