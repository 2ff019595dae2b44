"""The analysis of one coin and timeframe: built once from its closed bars, then brought up to
the forming bar on every request with one indicator step (see ``indicators``).

``closed_analysis_build`` does the expensive part (pandas-ta, swing levels, pivots, patterns) and
its result is what the selectors cache per closed bar; ``analysis_live`` applies the forming bar
and words the summary, in about a millisecond.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from markets.analysis.indicators import (
    IndicatorSet,
    indicator_readings,
    indicators_compute,
    indicators_step,
)
from markets.analysis.levels import SwingLevel, levels_around, pivots_compute, swing_levels
from markets.analysis.params import AnalysisParams
from markets.analysis.patterns import detect_patterns
from markets.analysis.summary import alert_suggestions, indicator_signals, pattern_signals, verdict_of
from markets.candles import CLOSE, TIME, VOLUME

logger = logging.getLogger(__name__)

BAR_FIELDS = ("time", "open", "high", "low", "close", "volume")
FALLBACK_TOLERANCE = 0.005  # of the price, to cluster swing levels while ATR has no value


@dataclass
class ClosedAnalysis:
    """Everything the closed bars give: small enough to cache for every coin (series kept apart)."""

    timeframe: str
    count: int
    last_bar: np.ndarray | None  # the last closed bar
    indicators: IndicatorSet  # series trimmed to the values the forming bar's step reads
    pivots: dict
    swings: list[SwingLevel]
    patterns: list[dict]

    @property
    def closed_time(self) -> int | None:
        return None if self.last_bar is None else int(self.last_bar[TIME])


@dataclass
class ChartSeries:
    """The closed bars and every indicator series over them, for drawing."""

    bars: np.ndarray
    series: dict[str, np.ndarray]


def closed_analysis_build(
    *, bars: np.ndarray, daily: np.ndarray, timeframe: str, reference: int | None, params: AnalysisParams
) -> tuple[ClosedAnalysis, ChartSeries]:
    """Indicators, levels and patterns of closed ``bars``; pivots from the ``daily`` bars before ``reference``."""
    indicators = indicators_compute(bars=bars, params=params)
    closed = ClosedAnalysis(
        timeframe=timeframe,
        count=len(bars),
        last_bar=bars[-1].copy() if len(bars) else None,
        indicators=indicators.trimmed(params),
        pivots=_pivots(daily, timeframe, reference),
        swings=swing_levels(bars=bars, window=params.swing_window, tolerance=_tolerance(bars, indicators, params)),
        patterns=_patterns(bars),
    )
    return closed, ChartSeries(bars=bars, series=indicators.series)


def _patterns(bars: np.ndarray) -> list[dict]:
    """The detector's findings; should it fail on some bars, the rest of the analysis (and a screen of
    the whole market) still stands, and the failure is logged with the bars' size."""
    try:
        return [p.as_dict() for p in detect_patterns(bars)]
    except Exception:
        logger.exception("Pattern detection failed on %d bars; analysing without patterns", len(bars))
        return []


def _pivots(daily: np.ndarray, timeframe: str, reference: int | None) -> dict:
    if reference is None:
        return {"value": None, "reason": "no bars stored yet"}
    return pivots_compute(daily=daily, timeframe=timeframe, reference=reference)


def _tolerance(bars: np.ndarray, indicators: IndicatorSet, params: AnalysisParams) -> float:
    """How far apart two swings may be and still be one level: a share of the last ATR."""
    atr = indicators.last().get("atr", math.nan)
    if math.isfinite(atr) and atr > 0:
        return params.level_tolerance * atr
    return FALLBACK_TOLERANCE * float(bars[-1, CLOSE]) if len(bars) else 0.0


def forming_array(*, closed: ClosedAnalysis, forming: dict | None) -> np.ndarray | None:
    """The forming bar as a bar array row, when there is one after the last closed bar."""
    if not forming or (closed.closed_time is not None and forming["time"] <= closed.closed_time):
        return None
    return np.array([float(forming[field]) for field in BAR_FIELDS])


def latest_values(*, closed: ClosedAnalysis, bar: np.ndarray | None, params: AnalysisParams) -> dict[str, float]:
    """Every indicator series' value at the forming bar (one step), or at the last closed bar."""
    if bar is None:
        return closed.indicators.last()
    return indicators_step(done=closed.indicators, bar=bar, params=params)


def analysis_live(*, closed: ClosedAnalysis, bar: np.ndarray | None, values: dict, params: AnalysisParams) -> dict:
    """The analysis at the latest bar: indicator values, levels, summary, alert suggestions."""
    latest = bar if bar is not None else closed.last_bar
    price = None if latest is None else float(latest[CLOSE])
    readings = indicator_readings(values=values, count=closed.count, params=params)
    levels = {"pivots": closed.pivots, **levels_around(levels=closed.swings, price=price)}
    signals = []
    if price is not None:
        volume = float(latest[VOLUME])
        signals = indicator_signals(readings=readings, price=price, volume=volume, forming=bar is not None)
        signals += pattern_signals(patterns=closed.patterns)
    return {
        "timeframe": closed.timeframe,
        "time": None if latest is None else int(latest[TIME]),
        "forming": bar is not None,
        "closed_bars": closed.count,
        "closed_time": closed.closed_time,
        "price": price,
        "indicators": readings,
        "levels": levels,
        "summary": {**verdict_of(signals=signals), "signals": signals},
        "suggestions": [] if price is None else _suggestions(closed, readings, levels, price),
    }


def _suggestions(closed: ClosedAnalysis, readings: dict, levels: dict, price: float) -> list[dict]:
    return alert_suggestions(
        readings=readings, levels=levels, patterns=closed.patterns, price=price, timeframe=closed.timeframe
    )


def series_payload(*, chart: ChartSeries, bar: np.ndarray | None, values: dict[str, float]) -> dict[str, list]:
    """Bars and indicator series as parallel lists (null where undefined), ending with the forming bar."""
    bars = chart.bars if bar is None else np.vstack([chart.bars, bar])
    columns = {field: bars[:, i] for i, field in enumerate(BAR_FIELDS)}
    for name, values_closed in chart.series.items():
        columns[name] = values_closed if bar is None else np.append(values_closed, values[name])
    columns["time"] = columns["time"].astype(int)
    return {name: _json_list(array) for name, array in columns.items()}


def _json_list(array: np.ndarray) -> list:
    if array.dtype.kind == "i":
        return array.tolist()
    return [None if math.isnan(v) else v for v in array.tolist()]
