"""Labeled synthetic bar series for measuring the chart-pattern detector, and the measurement itself.

A series is a random walk of log prices. For a pattern label the walk ends with the pattern, followed
by 0-15 bars of walk, as a live chart shows a pattern that has just formed. The pattern is a polyline
through randomised anchor points (tops, valleys, line touches), and between anchors the path is a
Brownian bridge with the walk's own per-bar volatility: a pattern differs from its surroundings only
by its shape. Every label draws length, volatility, price scale, time frame, volume and drift from the
same distributions.

Pattern size comes from a signal-to-noise ratio drawn from ``SNR``: the median swing of the pattern's
body is ``snr * sigma * sqrt(bars of the swing)``, i.e. 2 to 3.5 times the move a random walk makes in
the same time. That is a pattern a trader would point at, not a spotless drawing; the smaller swings
of a pattern (late triangle touches, the flag's channel) are closer to the noise than that.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from markets.analysis.patterns import CONFIDENCE_THRESHOLD, LIVE_BARS, PATTERN_KINDS, Pattern, detect_patterns
from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME

RANDOM_WALK = "random_walk"
LABELS = (*PATTERN_KINDS, RANDOM_WALK)
NO_PATTERN = "none"

LENGTH = (120, 500)  # bars in a series
SIGMA = (0.004, 0.04)  # per-bar volatility of log prices (log-uniform): quiet 1m bars to wild daily bars
PRICE = (1e-3, 1e5)  # first price (log-uniform)
SNR = (2.0, 3.5)  # pattern swing / (sigma * sqrt(bars of the swing))
TAIL = 15  # bars of walk after the pattern's last anchor: 0..TAIL
TIMEFRAMES = (60, 300, 900, 3600, 14_400, 86_400)
DRIFT = 0.1  # the walk's drift per bar, in sigmas (normal, this standard deviation)


@dataclass(frozen=True)
class LabeledSeries:
    """Bars with the label they were drawn from; ``start``/``end``: the pattern's first and last bar."""

    label: str
    bars: np.ndarray
    start: int = -1
    end: int = -1


# --- Shapes: (bars per leg, anchor values in log price from the first anchor) -------------------------

Shape = tuple[list[int], np.ndarray]


def _durations(rng: np.random.Generator, bars: float, weights: Sequence[float]) -> list[int]:
    """Leg lengths of about ``bars * weight`` each, jittered, at least 2 bars."""
    return [max(2, round(bars * w * rng.uniform(0.75, 1.3))) for w in weights]


def _scaled(durations: list[int], values: Sequence[float], sigma: float, snr: float, body: slice) -> np.ndarray:
    """Scale the anchor values so that the median swing of ``body`` legs is ``snr`` random-walk moves."""
    values = np.asarray(values, dtype=float)
    swings = np.abs(np.diff(values))[body] / np.sqrt(np.asarray(durations, dtype=float)[body])
    return values * snr * sigma / float(np.median(swings))


def _double_top(rng: np.random.Generator, sigma: float, snr: float) -> Shape:
    depth = rng.uniform(0.35, 0.65)  # valley below the first top, as a fraction of the rise into it
    second = 1 + rng.uniform(-0.05, 0.05)
    values = [0.0, 1.0, 1 - depth, second, 1 - depth - rng.uniform(0.0, 0.1) * depth]
    durations = _durations(rng, rng.integers(6, 19), [1.0, 1.0, 1.0, 0.8])
    return durations, _scaled(durations, values, sigma, snr, slice(1, None))


def _head_and_shoulders(rng: np.random.Generator, sigma: float, snr: float) -> Shape:
    # Neckline through the two troughs (0 and ``tilt``); the head is 1 above it.
    shoulder = rng.uniform(0.45, 0.75)
    tilt = rng.uniform(-0.15, 0.15)
    durations = _durations(rng, rng.integers(5, 17), [1.0, 1.0, 1.0, 1.0, 1.0, 0.8])
    times = np.cumsum([0, *durations])
    neck_at_end = tilt * (times[6] - times[2]) / (times[4] - times[2])
    values = [
        -rng.uniform(0.25, 0.7),
        shoulder,
        0.0,
        1.0,
        tilt,
        shoulder + rng.uniform(-0.12, 0.12),
        neck_at_end - rng.uniform(0.0, 0.1),
    ]
    values = np.asarray(values) - values[0]
    return durations, _scaled(durations, values, sigma, snr, slice(1, None))


def _triangle(rng: np.random.Generator, sigma: float, snr: float, *, ascending: bool) -> Shape:
    """Touches alternate between two converging lines; the entry leg comes from beyond the first's opposite line."""
    touches = int(rng.integers(5, 8))
    end_width = rng.uniform(0.15, 0.4)  # width at the last touch / width at the first
    if ascending:
        upper_rise = rng.uniform(-0.05, 0.05)
        lower_rise = 1 + upper_rise - end_width
    else:
        share = rng.uniform(0.3, 0.7)
        upper_rise, lower_rise = -share * (1 - end_width), (1 - share) * (1 - end_width)
    first_upper = rng.random() < 0.5
    # Swings shrink in time as well as in size.
    fractions = np.linspace(0, 1, touches)
    widths = 1 + (upper_rise - lower_rise) * fractions
    durations = _durations(rng, rng.integers(6, 15), 0.4 + 0.6 * widths[:-1])
    tau = np.cumsum([0, *durations]) / sum(durations)
    on_upper = (np.arange(touches) % 2 == 0) == first_upper
    lines = np.where(on_upper, 1 + upper_rise * tau, lower_rise * tau)
    lines = lines + rng.uniform(-0.05, 0.05, touches)
    entry = lines[0] + (-1 if first_upper else 1) * rng.uniform(0.9, 1.4)
    durations = [max(2, round(durations[0] * rng.uniform(0.8, 1.3))), *durations]
    values = np.asarray([entry, *lines]) - entry
    return durations, _scaled(durations, values, sigma, snr, slice(1, None))


def _pole_and_consolidation(rng: np.random.Generator, sigma: float, snr: float, *, pennant: bool) -> Shape:
    """A pole of 1 up, then touches of an upper and a lower line starting at the pole's top."""
    touches = int(rng.integers(4, 7))
    if pennant:
        width = rng.uniform(0.25, 0.5)
        end_width = width * rng.uniform(0.1, 0.35)
        drift = rng.uniform(-0.15, 0.05)
    else:
        width = rng.uniform(0.2, 0.4)
        end_width = width * rng.uniform(0.85, 1.15)
        drift = -rng.uniform(0.1, 0.45)
    fractions = np.linspace(0, 1, touches)
    widths = width + (end_width - width) * fractions
    durations = _durations(rng, rng.integers(3, 9), 0.4 + 0.6 * widths[:-1] / width)
    tau = np.cumsum([0, *durations]) / sum(durations)
    mid = 1 - width / 2 + drift * tau
    half = (width + (end_width - width) * tau) / 2
    on_upper = np.arange(touches) % 2 == 0
    lines = np.where(on_upper, mid + half, mid - half) + rng.uniform(-0.05, 0.05, touches) * width
    lines[0] = 1.0
    values = _scaled([1, *durations], [0.0, *lines], sigma, snr, slice(1, None))
    pole_bars = int(np.clip(round(values[1] / (rng.uniform(1.5, 3.5) * sigma)), 4, 25))
    return [pole_bars, *durations], values


SHAPES: dict[str, tuple[Callable[..., Shape], dict, int]] = {
    # label: (shape, its options, sign: 1 as drawn, -1 mirrored, 0 either at random)
    "bull_flag": (_pole_and_consolidation, {"pennant": False}, 1),
    "bear_flag": (_pole_and_consolidation, {"pennant": False}, -1),
    "pennant": (_pole_and_consolidation, {"pennant": True}, 0),
    "head_and_shoulders": (_head_and_shoulders, {}, 1),
    "inverse_head_and_shoulders": (_head_and_shoulders, {}, -1),
    "double_top": (_double_top, {}, 1),
    "double_bottom": (_double_top, {}, -1),
    "ascending_triangle": (_triangle, {"ascending": True}, 1),
    "descending_triangle": (_triangle, {"ascending": True}, -1),
    "symmetrical_triangle": (_triangle, {"ascending": False}, 0),
}


# --- Series ---------------------------------------------------------------------------------------------


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _bridge(rng: np.random.Generator, start: float, end: float, bars: int, sigma: float) -> np.ndarray:
    """A random walk of ``bars`` steps from ``start`` pinned to end at ``end`` (values after the start)."""
    walk = np.cumsum(rng.normal(0.0, sigma, bars))
    k = np.arange(1, bars + 1) / bars
    return start + (end - start) * k + walk - k * walk[-1]


def series_generate(label: str, rng: np.random.Generator, *, length: int | None = None) -> LabeledSeries:
    """One series of ``label`` (a pattern kind or ``"random_walk"``): of ``length`` bars (or more if the
    pattern needs them), or of a random length."""
    sigma = _log_uniform(rng, *SIGMA)
    drift = rng.normal(0.0, DRIFT * sigma)
    durations: list[int] = []
    values = np.zeros(1)
    if label != RANDOM_WALK:
        shape, options, sign = SHAPES[label]
        durations, values = shape(rng, sigma, rng.uniform(*SNR), **options)
        values = values * (sign or rng.choice([-1, 1]))
    pattern_bars = sum(durations)
    tail = int(rng.integers(0, TAIL + 1))
    shortest = pattern_bars + tail + 40
    n = max(length, shortest) if length else int(rng.integers(max(LENGTH[0], shortest), LENGTH[1] + 1))
    first = n - pattern_bars - tail - 1  # index of the pattern's first anchor

    closes = np.empty(n)
    closes[: first + 1] = np.cumsum(rng.normal(drift, sigma, first + 1))
    level, position = closes[first], first
    for bars, start, end in zip(durations, values[:-1], values[1:], strict=True):
        closes[position + 1 : position + 1 + bars] = _bridge(rng, level + start, level + end, bars, sigma)
        position += bars
    closes[position + 1 :] = closes[position] + np.cumsum(rng.normal(drift, sigma, tail))
    bars = _bars(rng, closes, sigma)
    if label == RANDOM_WALK:
        return LabeledSeries(label, bars)
    return LabeledSeries(label, bars, first, position)


def _bars(rng: np.random.Generator, log_closes: np.ndarray, sigma: float) -> np.ndarray:
    """OHLCV bars around log closes: opens at the previous close, wicks of about half a sigma."""
    n = len(log_closes)
    opens = np.r_[log_closes[0], log_closes[:-1]]
    highs = np.maximum(opens, log_closes) + np.abs(rng.normal(0.0, 0.5 * sigma, n))
    lows = np.minimum(opens, log_closes) - np.abs(rng.normal(0.0, 0.5 * sigma, n))
    timeframe = int(rng.choice(TIMEFRAMES))
    bars = np.empty((n, 6))
    bars[:, TIME] = 1_700_000_000 // timeframe * timeframe + timeframe * np.arange(n)
    scale = _log_uniform(rng, *PRICE)
    bars[:, OPEN], bars[:, HIGH], bars[:, LOW], bars[:, CLOSE] = (
        scale * np.exp(x) for x in (opens, highs, lows, log_closes)
    )
    bars[:, VOLUME] = rng.lognormal(10.0, 0.8, n)
    return bars


def dataset_generate(*, per_label: int, seed: int) -> list[LabeledSeries]:
    """``per_label`` series of every label (patterns and random walks); the same seed gives the same series."""
    return [
        series_generate(label, np.random.default_rng([seed, index, k]))
        for index, label in enumerate(LABELS)
        for k in range(per_label)
    ]


# --- Measurement ----------------------------------------------------------------------------------------

ABBREVIATIONS = {
    "bull_flag": "bullF",
    "bear_flag": "bearF",
    "head_and_shoulders": "H&S",
    "inverse_head_and_shoulders": "invH&S",
    "double_top": "2top",
    "double_bottom": "2bot",
    "pennant": "pennt",
    "ascending_triangle": "ascT",
    "descending_triangle": "descT",
    "symmetrical_triangle": "symT",
    NO_PATTERN: "none",
}


def prediction(findings: Sequence[Pattern], bars: np.ndarray, *, min_confidence: float) -> str:
    """The kind of the most confident finding at or above ``min_confidence`` that ends in the last
    ``LIVE_BARS`` bars, or ``"none"``."""
    recent = bars[max(len(bars) - 1 - LIVE_BARS, 0), TIME]
    live = [p for p in findings if p.confidence >= min_confidence and p.end_time >= recent]
    return max(live, key=lambda p: p.confidence).kind if live else NO_PATTERN


@dataclass
class Evaluation:
    """Counts of (label, prediction), and how many random walks had any finding at the threshold."""

    counts: Counter = field(default_factory=Counter)
    random_walks: int = 0
    random_walks_flagged: int = 0

    def precision(self, kind: str) -> float:
        """Of the series predicted ``kind``, the share labelled ``kind`` (NaN if none was predicted)."""
        predicted = sum(count for (_, guess), count in self.counts.items() if guess == kind)
        return self.counts[kind, kind] / predicted if predicted else math.nan

    def recall(self, kind: str) -> float:
        """Of the series labelled ``kind``, the share predicted ``kind``."""
        labelled = sum(count for (label, _), count in self.counts.items() if label == kind)
        return self.counts[kind, kind] / labelled if labelled else math.nan

    @property
    def random_walk_fp_rate(self) -> float:
        return self.random_walks_flagged / self.random_walks if self.random_walks else math.nan

    def confusion_table(self) -> str:
        """Rows: labels; columns: predictions."""
        columns = [*PATTERN_KINDS, NO_PATTERN]
        width = max(map(len, LABELS))
        lines = [" " * width + "".join(f"{ABBREVIATIONS[c]:>7}" for c in columns)]
        lines += [f"{label:<{width}}" + "".join(f"{self.counts[label, c]:>7}" for c in columns) for label in LABELS]
        return "\n".join(lines)


def detector_evaluate(
    dataset: Sequence[LabeledSeries],
    *,
    min_confidence: float = CONFIDENCE_THRESHOLD,
    detect: Callable[[np.ndarray], list[Pattern]] = detect_patterns,
) -> Evaluation:
    """Run ``detect`` on every series and count its predictions against the labels."""
    evaluation = Evaluation()
    for series in dataset:
        findings = detect(series.bars)
        evaluation.counts[series.label, prediction(findings, series.bars, min_confidence=min_confidence)] += 1
        if series.label == RANDOM_WALK:
            evaluation.random_walks += 1
            evaluation.random_walks_flagged += any(p.confidence >= min_confidence for p in findings)
    return evaluation


# --- Training ---------------------------------------------------------------------------------------------

# Seeds the learned scorer is fitted on, none of them the test's (11, 12) nor the benchmark's (2024);
# the validation seeds are kept aside to choose its settings (measures, tree depth, tempering) on.
TRAINING_SEEDS = tuple(range(101, 125))
TRAINING_PER_LABEL = 200  # series of every label for each seed
VALIDATION_SEEDS = (7, 8, 9, 10, 13, 14)
