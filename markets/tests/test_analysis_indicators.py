"""Indicators: pandas-ta's values checked against TA-Lib and the textbook definitions, short
histories, and the forming bar's one step against a full recompute."""

from __future__ import annotations

import math

import numpy as np
import pytest
import talib

from markets.analysis.indicators import indicator_readings, indicators_compute, indicators_for, indicators_step
from markets.analysis.params import DEFAULT_PARAMS, AnalysisParams
from markets.candles import CLOSE, HIGH, LOW, TIME, VOLUME
from markets.tests.analysis_data import random_walk

# Wilder's averages start from the first bar in pandas-ta and from an SMA in TA-Lib: the two agree
# once the start has decayed, so values are compared over the last bars of a long series.
COMPARED = 150


@pytest.fixture(scope="module")
def bars() -> np.ndarray:
    return random_walk(600, seed=11)


@pytest.fixture(scope="module")
def series(bars) -> dict[str, np.ndarray]:
    return indicators_compute(bars=bars, params=DEFAULT_PARAMS).series


def assert_tail_equal(ours: np.ndarray, reference: np.ndarray) -> None:
    np.testing.assert_allclose(ours[-COMPARED:], reference[-COMPARED:], rtol=1e-9, atol=1e-9)


def test_rsi_matches_talib(bars, series):
    assert_tail_equal(series["rsi"], talib.RSI(bars[:, CLOSE], timeperiod=14))


def test_macd_matches_talib(bars, series):
    macd, signal, histogram = talib.MACD(bars[:, CLOSE], fastperiod=12, slowperiod=26, signalperiod=9)
    assert_tail_equal(series["macd"], macd)
    assert_tail_equal(series["macd_signal"], signal)
    assert_tail_equal(series["macd_hist"], histogram)


def test_bollinger_bands_match_talib_with_the_population_deviation(bars, series):
    upper, middle, lower = talib.BBANDS(bars[:, CLOSE], timeperiod=20, nbdevup=2, nbdevdn=2, matype=0)
    assert_tail_equal(series["bb_upper"], upper)
    assert_tail_equal(series["bb_middle"], middle)
    assert_tail_equal(series["bb_lower"], lower)


@pytest.mark.parametrize("length", [9, 21, 50, 200])
def test_moving_averages_match_talib(bars, series, length):
    assert_tail_equal(series[f"sma_{length}"], talib.SMA(bars[:, CLOSE], timeperiod=length))
    assert_tail_equal(series[f"ema_{length}"], talib.EMA(bars[:, CLOSE], timeperiod=length))


def test_atr_matches_talib(bars, series):
    assert_tail_equal(series["atr"], talib.ATR(bars[:, HIGH], bars[:, LOW], bars[:, CLOSE], timeperiod=14))


def test_stochastic_matches_talibs_slow_stochastic(bars, series):
    k, d = talib.STOCH(
        bars[:, HIGH], bars[:, LOW], bars[:, CLOSE], fastk_period=14, slowk_period=3, slowk_matype=0,
        slowd_period=3, slowd_matype=0,
    )  # fmt: skip
    assert_tail_equal(series["stoch_k"], k)
    assert_tail_equal(series["stoch_d"], d)


def test_volume_sma_is_the_mean_of_the_last_volumes(bars, series):
    by_hand = [bars[i - 19 : i + 1, VOLUME].mean() for i in range(len(bars) - COMPARED, len(bars))]
    np.testing.assert_allclose(series["volume_sma"][-COMPARED:], by_hand, rtol=1e-12)


def test_whole_series_agree_with_talib_from_the_first_value_where_seeds_match(bars, series):
    # SMA, Bollinger and the stochastic have no seed: every value matches, from the first one.
    reference = talib.SMA(bars[:, CLOSE], timeperiod=50)
    assert np.isnan(series["sma_50"][:49]).all()
    np.testing.assert_allclose(series["sma_50"][49:], reference[49:], rtol=1e-12)


def test_textbook_rsi_of_steady_moves():
    rising = random_walk(40, drift=0.0)
    rising[:, CLOSE] = np.arange(40) + 100.0
    falling = rising.copy()
    falling[:, CLOSE] = 200.0 - np.arange(40)
    assert indicators_compute(bars=rising, params=DEFAULT_PARAMS).last()["rsi"] == pytest.approx(100)
    assert indicators_compute(bars=falling, params=DEFAULT_PARAMS).last()["rsi"] == pytest.approx(0)


def test_textbook_stochastic_and_bands_of_a_small_series():
    bars = random_walk(6)
    bars[:, HIGH] = [10, 12, 11, 13, 12, 14]
    bars[:, LOW] = [8, 9, 9, 10, 10, 11]
    bars[:, CLOSE] = [9, 11, 10, 12, 11, 13]
    params = AnalysisParams(stoch_k=3, stoch_d=2, stoch_smooth=1, bb_length=5, bb_std=2.0)
    last = indicators_compute(bars=bars, params=params).last()
    assert last["stoch_k"] == pytest.approx(100 * (13 - 10) / (14 - 10))  # close in the last 3 bars' range
    closes = np.array([11, 10, 12, 11, 13], dtype=float)  # the last five
    assert last["bb_middle"] == pytest.approx(closes.mean())
    assert last["bb_upper"] == pytest.approx(closes.mean() + 2 * math.sqrt(((closes - closes.mean()) ** 2).mean()))


def test_values_do_not_come_from_talib(monkeypatch, bars):
    # pandas-ta would hand the work to TA-Lib when it is installed, unless told not to.
    def refuse(*args, **kwargs):
        raise AssertionError("TA-Lib was called")

    for name in ("RSI", "MACD", "BBANDS", "SMA", "EMA", "ATR", "STOCH", "TRANGE"):
        monkeypatch.setattr(talib, name, refuse)
    assert math.isfinite(indicators_compute(bars=bars, params=DEFAULT_PARAMS).last()["rsi"])


# --- short history --------------------------------------------------------------------------------


@pytest.mark.parametrize("indicator", indicators_for(DEFAULT_PARAMS), ids=lambda i: i.name)
def test_too_little_history_is_null_with_the_reason(indicator):
    short = random_walk(indicator.needs - 1)
    values = indicators_compute(bars=short, params=DEFAULT_PARAMS).last()
    reading = indicator_readings(values=values, count=len(short), params=DEFAULT_PARAMS)[indicator.name]
    assert reading == {"value": None, "reason": f"needs {indicator.needs} closed bars, have {indicator.needs - 1}"}


@pytest.mark.parametrize("indicator", indicators_for(DEFAULT_PARAMS), ids=lambda i: i.name)
def test_just_enough_history_gives_a_value(indicator):
    enough = random_walk(indicator.needs)
    values = indicators_compute(bars=enough, params=DEFAULT_PARAMS).last()
    reading = indicator_readings(values=values, count=len(enough), params=DEFAULT_PARAMS)[indicator.name]
    numbers = reading["value"].values() if isinstance(reading["value"], dict) else [reading["value"]]
    assert all(isinstance(n, float) and math.isfinite(n) for n in numbers), reading


def test_no_bars_at_all_is_null_for_every_indicator():
    values = indicators_compute(bars=np.empty((0, 6)), params=DEFAULT_PARAMS).last()
    readings = indicator_readings(values=values, count=0, params=DEFAULT_PARAMS)
    assert all(r["value"] is None and r["reason"].endswith("have 0") for r in readings.values())


def test_prices_that_never_move_leave_the_rsi_undefined_with_a_reason():
    flat = random_walk(30)
    flat[:, 1:5] = 5.0
    values = indicators_compute(bars=flat, params=DEFAULT_PARAMS).last()
    reading = indicator_readings(values=values, count=30, params=DEFAULT_PARAMS)["rsi"]
    assert reading["value"] is None and "did not move" in reading["reason"]


# --- the forming bar ------------------------------------------------------------------------------

PARAMS = [
    DEFAULT_PARAMS,
    AnalysisParams(rsi_length=7, macd_fast=5, macd_slow=35, macd_signal=5, bb_length=10, bb_std=1.5, sma=(3, 30),
                   ema=(4, 100), atr_length=5, stoch_k=5, stoch_d=2, stoch_smooth=1, volume_sma=7),
    AnalysisParams(stoch_k=21, stoch_d=5, stoch_smooth=4, sma=(2,), ema=(2,)),
]  # fmt: skip


@pytest.mark.parametrize("params", PARAMS)
def test_the_forming_bars_step_equals_a_full_recompute_including_it(params):
    bars = random_walk(401, seed=5)
    closed = indicators_compute(bars=bars[:-1], params=params)
    stepped = indicators_step(done=closed, bar=bars[-1], params=params)
    recomputed = indicators_compute(bars=bars, params=params).last()
    assert stepped.keys() == recomputed.keys()
    for name, value in recomputed.items():
        assert stepped[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_a_forming_bar_that_keeps_changing_steps_from_the_same_closed_state():
    bars = random_walk(300, seed=8)
    closed = indicators_compute(bars=bars[:-1], params=DEFAULT_PARAMS)
    for close in (bars[-2, CLOSE] * 1.02, bars[-2, CLOSE] * 0.97, bars[-1, CLOSE]):
        forming = bars[-1].copy()
        forming[CLOSE] = close
        forming[HIGH], forming[LOW] = max(forming[HIGH], close), min(forming[LOW], close)
        recomputed = indicators_compute(bars=np.vstack([bars[:-1], forming]), params=DEFAULT_PARAMS).last()
        stepped = indicators_step(done=closed, bar=forming, params=DEFAULT_PARAMS)
        assert stepped == pytest.approx(recomputed, rel=1e-12)


def test_the_step_needs_only_the_kept_tail_not_the_history():
    bars = random_walk(500, seed=3)
    closed = indicators_compute(bars=bars[:-1], params=DEFAULT_PARAMS)
    assert len(closed.tail) == DEFAULT_PARAMS.window + 1  # the 200-bar SMA's window, plus the previous close
    assert closed.tail[-1, TIME] == bars[-2, TIME]
