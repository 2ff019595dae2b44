"""Indicators with pandas-ta over closed bars, and the one-bar step that applies the forming bar.

``indicators_compute`` runs pandas-ta once per closed bar. ``indicators_step`` takes what it kept
and the forming bar, and returns every indicator's value as if the forming bar were the next one:
EMAs, MACD, RSI and ATR from their last state (one recursion step), SMAs, Bollinger bands and the
stochastic from the last closed bars (one window). No step reruns the history.

pandas-ta hands work to TA-Lib whenever TA-Lib is installed; every call here passes
``talib=False`` so that the values are pandas-ta's own and the tests can check them against
TA-Lib as an independent reference.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache, partial

import numpy as np
import pandas as pd
import pandas_ta as ta
from numpy.lib.stride_tricks import sliding_window_view

from markets.analysis.params import AnalysisParams
from markets.candles import CLOSE, HIGH, LOW, VOLUME

NAN = math.nan
Columns = dict[str, "pd.Series | None"]


@dataclass(frozen=True)
class Frame:
    """The bar array and its columns as pandas Series, the way pandas-ta takes them."""

    bars: np.ndarray
    close: pd.Series
    high: pd.Series
    low: pd.Series
    volume: pd.Series

    @classmethod
    def of(cls, bars: np.ndarray) -> Frame:
        return cls(bars, *(pd.Series(bars[:, column]) for column in (CLOSE, HIGH, LOW, VOLUME)))


@dataclass
class IndicatorSet:
    """Series over ``count`` closed bars (NaN where undefined) and what the forming bar's step needs."""

    count: int
    series: dict[str, np.ndarray]
    state: dict[str, float]
    tail: np.ndarray  # the last closed bars, as many as the windowed indicators take

    def last(self) -> dict[str, float]:
        """Each series' value at the last closed bar."""
        return {name: float(values[-1]) if len(values) else NAN for name, values in self.series.items()}

    def trimmed(self, params: AnalysisParams) -> IndicatorSet:
        """The same set with each series cut to the values the step reads (the stochastic's last %K)."""
        return replace(self, series={name: values[-params.stoch_d :] for name, values in self.series.items()})


@dataclass(frozen=True)
class Indicator:
    """One indicator: the series it makes, the keys of its value, the closed bars its first value needs."""

    name: str
    columns: tuple[str, ...]
    labels: tuple[str, ...]
    needs: int
    compute: Callable[[Frame], tuple[Columns, dict[str, float]]]
    step: Callable[[IndicatorSet, np.ndarray], dict[str, float]]


# --- pandas-ta over the closed bars -----------------------------------------------------------


def _rsi(frame: Frame, length: int) -> tuple[Columns, dict[str, float]]:
    # The forming bar's RSI needs both of Wilder's averages, which pandas-ta's rsi keeps to itself: they
    # are taken with its rma, and the RSI made from them as pandas-ta's rsi does (gain / (gain + loss)).
    move = frame.close.diff()
    gain = ta.rma(move.clip(lower=0), length=length)
    loss = ta.rma((-move).clip(lower=0), length=length)
    return {"rsi": 100 * gain / (gain + loss)}, {"rsi_gain": _last(gain), "rsi_loss": _last(loss)}


def _macd(frame: Frame, fast: int, slow: int, signal: int) -> tuple[Columns, dict[str, float]]:
    # The forming bar's MACD needs both averages, which pandas-ta's macd keeps to itself: the lines are
    # put together from its ema as pandas-ta's macd does (the signal line over the MACD's valid part).
    fast_ema = ta.ema(frame.close, length=fast, talib=False)
    slow_ema = ta.ema(frame.close, length=slow, talib=False)
    line = fast_ema - slow_ema
    # ``needs`` (slow + signal - 1 bars) leaves the signal line at least ``signal`` MACD values.
    signal_line = ta.ema(line.loc[line.first_valid_index() :], length=signal, talib=False).reindex(line.index)
    columns = {"macd": line, "macd_signal": signal_line, "macd_hist": line - signal_line}
    state = {"macd_fast": _last(fast_ema), "macd_slow": _last(slow_ema), "macd_signal": _last(signal_line)}
    return columns, state


def _bbands(frame: Frame, length: int, std: float) -> tuple[Columns, dict[str, float]]:
    # Put together from pandas-ta's sma and stdev as its bbands does, without the bandwidth and %B columns
    # it adds (three quarters of its time). ddof=0: Bollinger's bands use the population deviation.
    middle = ta.sma(frame.close, length=length, talib=False)
    deviation = ta.stdev(frame.close, length=length, ddof=0, talib=False)
    return {"bb_upper": middle + std * deviation, "bb_middle": middle, "bb_lower": middle - std * deviation}, {}


def _sma(frame: Frame, length: int) -> tuple[Columns, dict[str, float]]:
    return {f"sma_{length}": ta.sma(frame.close, length=length, talib=False)}, {}


def _ema(frame: Frame, length: int) -> tuple[Columns, dict[str, float]]:
    ema = ta.ema(frame.close, length=length, talib=False)
    return {f"ema_{length}": ema}, {f"ema_{length}": _last(ema)}


def _atr(frame: Frame, length: int) -> tuple[Columns, dict[str, float]]:
    atr = ta.atr(frame.high, frame.low, frame.close, length=length, talib=False)
    return {"atr": atr}, {"atr": _last(atr)}


def _stoch(frame: Frame, k: int, d: int, smooth: int) -> tuple[Columns, dict[str, float]]:
    # pandas-ta's stoch smooths through TA-Lib whatever ``talib`` says, so it is put together here the
    # way pandas-ta does it: the raw %K of pandas' rolling extremes, then pandas-ta's SMA, twice.
    span = frame.high.rolling(k).max() - frame.low.rolling(k).min()
    if (span == 0).any():
        span = span + sys.float_info.epsilon
    raw = 100 * (frame.close - frame.low.rolling(k).min()) / span
    slow_k = _smoothed(raw.iloc[k - 1 :], smooth)
    slow_d = _smoothed(slow_k.iloc[smooth - 1 :], d)
    return {"stoch_k": slow_k.reindex(frame.close.index), "stoch_d": slow_d.reindex(frame.close.index)}, {}


def _smoothed(values: pd.Series, length: int) -> pd.Series:
    return values if length == 1 else ta.sma(values, length=length, talib=False)


def _volume_sma(frame: Frame, length: int) -> tuple[Columns, dict[str, float]]:
    return {"volume_sma": ta.sma(frame.volume, length=length, talib=False)}, {}


def _last(values: pd.Series | None) -> float:
    return NAN if values is None or values.empty else float(values.iloc[-1])


# --- one step with the forming bar --------------------------------------------------------------


def _rsi_step(done: IndicatorSet, bar: np.ndarray, length: int) -> dict[str, float]:
    move = bar[CLOSE] - done.tail[-1, CLOSE]
    gain = _wilder(done.state["rsi_gain"], max(move, 0.0), length)
    loss = _wilder(done.state["rsi_loss"], max(-move, 0.0), length)
    return {"rsi": _ratio(100 * gain, gain + loss)}


def _macd_step(done: IndicatorSet, bar: np.ndarray, fast: int, slow: int, signal: int) -> dict[str, float]:
    macd = _ema_next(done.state["macd_fast"], bar[CLOSE], fast) - _ema_next(done.state["macd_slow"], bar[CLOSE], slow)
    line = _ema_next(done.state["macd_signal"], macd, signal)
    return {"macd": macd, "macd_signal": line, "macd_hist": macd - line}


def _bbands_step(done: IndicatorSet, bar: np.ndarray, length: int, std: float) -> dict[str, float]:
    window = _window(done.tail[:, CLOSE], bar[CLOSE], length)
    middle, spread = float(window.mean()), std * float(window.std())
    return {"bb_upper": middle + spread, "bb_middle": middle, "bb_lower": middle - spread}


def _sma_step(done: IndicatorSet, bar: np.ndarray, length: int) -> dict[str, float]:
    return {f"sma_{length}": float(_window(done.tail[:, CLOSE], bar[CLOSE], length).mean())}


def _ema_step(done: IndicatorSet, bar: np.ndarray, length: int) -> dict[str, float]:
    return {f"ema_{length}": _ema_next(done.state[f"ema_{length}"], bar[CLOSE], length)}


def _atr_step(done: IndicatorSet, bar: np.ndarray, length: int) -> dict[str, float]:
    previous = done.tail[-1, CLOSE]
    true_range = max(bar[HIGH] - bar[LOW], abs(bar[HIGH] - previous), abs(bar[LOW] - previous))
    return {"atr": _wilder(done.state["atr"], true_range, length)}


def _stoch_step(done: IndicatorSet, bar: np.ndarray, k: int, d: int, smooth: int) -> dict[str, float]:
    rows = np.vstack([done.tail[-(k + smooth - 2) :], bar])
    fast_k = float(raw_stochastic(rows, k).mean())  # the forming bar's and the last smooth-1 closed bars'
    slow_k = [*done.series["stoch_k"][len(done.series["stoch_k"]) - (d - 1) :], fast_k]
    return {"stoch_k": fast_k, "stoch_d": float(np.mean(slow_k))}


def _volume_sma_step(done: IndicatorSet, bar: np.ndarray, length: int) -> dict[str, float]:
    return {"volume_sma": float(_window(done.tail[:, VOLUME], bar[VOLUME], length).mean())}


def raw_stochastic(rows: np.ndarray, k: int) -> np.ndarray:
    """Unsmoothed %K of every bar of ``rows`` that has ``k`` bars up to it: where the close sits in their range."""
    highest = sliding_window_view(rows[:, HIGH], k).max(axis=1)
    lowest = sliding_window_view(rows[:, LOW], k).min(axis=1)
    span = highest - lowest
    if (span == 0).any():
        span = span + sys.float_info.epsilon  # as pandas-ta does for a range of zero
    return 100 * (rows[k - 1 :, CLOSE] - lowest) / span


def _window(closed: np.ndarray, value: float, length: int) -> np.ndarray:
    return np.append(closed[len(closed) - length + 1 :], value)


def _wilder(previous: float, value: float, length: int) -> float:
    """One step of Wilder's moving average (pandas-ta's rma): alpha = 1/length."""
    return (1 - 1 / length) * previous + value / length


def _ema_next(previous: float, value: float, length: int) -> float:
    """One step of the exponential moving average: alpha = 2/(length + 1)."""
    alpha = 2 / (length + 1)
    return (1 - alpha) * previous + alpha * value


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else NAN


# --- the set ----------------------------------------------------------------------------------


@lru_cache(maxsize=64)  # requests choose the parameters: keep only the recent sets
def indicators_for(params: AnalysisParams) -> tuple[Indicator, ...]:
    """Every indicator with ``params``, in the order the API lists them."""
    p = params
    return (
        Indicator("rsi", ("rsi",), (), p.rsi_length + 1, *_pair(_rsi, _rsi_step, length=p.rsi_length)),
        Indicator(
            "macd",
            ("macd", "macd_signal", "macd_hist"),
            ("macd", "signal", "histogram"),
            p.macd_slow + p.macd_signal - 1,
            *_pair(_macd, _macd_step, fast=p.macd_fast, slow=p.macd_slow, signal=p.macd_signal),
        ),
        Indicator(
            "bbands",
            ("bb_upper", "bb_middle", "bb_lower"),
            ("upper", "middle", "lower"),
            p.bb_length,
            *_pair(_bbands, _bbands_step, length=p.bb_length, std=p.bb_std),
        ),
        *(Indicator(f"sma_{n}", (f"sma_{n}",), (), n, *_pair(_sma, _sma_step, length=n)) for n in p.sma),
        *(Indicator(f"ema_{n}", (f"ema_{n}",), (), n, *_pair(_ema, _ema_step, length=n)) for n in p.ema),
        Indicator("atr", ("atr",), (), p.atr_length + 1, *_pair(_atr, _atr_step, length=p.atr_length)),
        Indicator(
            "stoch",
            ("stoch_k", "stoch_d"),
            ("k", "d"),
            p.stoch_k + p.stoch_d + p.stoch_smooth,
            *_pair(_stoch, _stoch_step, k=p.stoch_k, d=p.stoch_d, smooth=p.stoch_smooth),
        ),
        Indicator(
            "volume_sma", ("volume_sma",), (), p.volume_sma, *_pair(_volume_sma, _volume_sma_step, length=p.volume_sma)
        ),
    )


def _pair(compute: Callable, step: Callable, **params) -> tuple[Callable, Callable]:
    return partial(compute, **params), partial(step, **params)


def indicators_compute(*, bars: np.ndarray, params: AnalysisParams) -> IndicatorSet:
    """Every indicator over closed ``bars`` (markets.candles columns, oldest first) with pandas-ta."""
    frame = Frame.of(bars)
    series: dict[str, np.ndarray] = {}
    state: dict[str, float] = {}
    for indicator in indicators_for(params):
        columns, kept = indicator.compute(frame) if len(bars) >= indicator.needs else ({}, {})
        for name in indicator.columns:
            values = columns.get(name)
            series[name] = np.full(len(bars), NAN) if values is None else values.to_numpy(dtype=float)
        state.update(kept)
    return IndicatorSet(count=len(bars), series=series, state=state, tail=bars[-(params.window + 1) :].copy())


def indicators_step(*, done: IndicatorSet, bar: np.ndarray, params: AnalysisParams) -> dict[str, float]:
    """Every indicator's value once ``bar`` (the forming one) follows the closed bars of ``done``."""
    values: dict[str, float] = {}
    for indicator in indicators_for(params):
        if done.count >= indicator.needs:
            values.update({name: float(v) for name, v in indicator.step(done, bar).items()})
        else:
            values.update(dict.fromkeys(indicator.columns, NAN))
    return values


def indicator_readings(*, values: dict[str, float], count: int, params: AnalysisParams) -> dict[str, dict]:
    """Each indicator's value for the API: a float or an object of floats, or null with the reason."""
    return {i.name: _reading(i, values, count) for i in indicators_for(params)}


def _reading(indicator: Indicator, values: dict[str, float], count: int) -> dict:
    if count < indicator.needs:
        return {"value": None, "reason": f"needs {indicator.needs} closed bars, have {count}"}
    numbers = [values[name] for name in indicator.columns]
    if not all(math.isfinite(v) for v in numbers):
        return {"value": None, "reason": "undefined for these bars (the price did not move)"}
    if not indicator.labels:
        return {"value": numbers[0]}
    return {"value": dict(zip(indicator.labels, numbers, strict=True))}
