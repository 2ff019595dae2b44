"""Chart patterns: accuracy on labelled synthetic series, and the findings' fields on any input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from markets.analysis.patterns import CONFIDENCE_THRESHOLD, PATTERN_KINDS, detect_patterns
from markets.analysis.patterns.detector import undominated
from markets.analysis.patterns.geometry import Match
from markets.analysis.patterns.swings import noise_level
from markets.analysis.synthetic import (
    LABELS,
    RANDOM_WALK,
    dataset_generate,
    detector_evaluate,
    series_generate,
)
from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME

SEED = 11  # the benchmark measures another seed
SERIES_PER_LABEL = 200
AIM = 0.85  # precision and recall promised for every kind; random walks flagged: under 10%
# What the detector achieves on this data set, all at or above AIM, so that any regression fails.
# bench/patterns.py gives the figures and the confusion matrix on another seed.
ACHIEVED = {  # kind: (precision, recall)
    "bull_flag": (0.95, 0.89),
    "bear_flag": (0.96, 0.92),
    "head_and_shoulders": (0.98, 0.95),
    "inverse_head_and_shoulders": (0.99, 0.97),
    "double_top": (0.96, 0.93),
    "double_bottom": (0.94, 0.93),
    "pennant": (0.94, 0.91),
    "ascending_triangle": (0.90, 0.90),
    "descending_triangle": (0.91, 0.91),
    "symmetrical_triangle": (0.91, 0.87),
}
RANDOM_WALK_FP_LIMIT = 0.10
MIRRORED = {
    "bull_flag": "bear_flag",
    "head_and_shoulders": "inverse_head_and_shoulders",
    "double_top": "double_bottom",
    "ascending_triangle": "descending_triangle",
}
MIRRORED |= {b: a for a, b in MIRRORED.items()}
HOUR = 3600
START = 1_700_000_000


def bars_through(anchors: list[tuple[int, float]], *, wiggle: float = 0.004) -> np.ndarray:
    """Hourly bars whose closes run straight between (bar, price) anchors, with a small regular wiggle."""
    at, prices = zip(*anchors, strict=True)
    n = at[-1] + 1
    closes = np.interp(np.arange(n), at, prices) * (1 + wiggle * np.sin(np.arange(n) * 2.1))
    opens = np.r_[closes[0], closes[:-1]]
    bars = np.empty((n, 6))
    bars[:, TIME] = START + HOUR * np.arange(n)
    bars[:, OPEN], bars[:, CLOSE] = opens, closes
    bars[:, HIGH] = np.maximum(opens, closes) * 1.002
    bars[:, LOW] = np.minimum(opens, closes) * 0.998
    bars[:, -1] = 1000.0
    return bars


def mirrored(bars: np.ndarray) -> np.ndarray:
    """The chart upside down (1/price): highs become lows."""
    flipped = bars.copy()
    flipped[:, OPEN], flipped[:, CLOSE] = 1 / bars[:, OPEN], 1 / bars[:, CLOSE]
    flipped[:, HIGH], flipped[:, LOW] = 1 / bars[:, LOW], 1 / bars[:, HIGH]
    return flipped


labelled = pytest.mark.xdist_group("pattern-dataset")  # one worker computes the data set


@pytest.fixture(scope="module")
def dataset():
    return dataset_generate(per_label=SERIES_PER_LABEL, seed=SEED)


@pytest.fixture(scope="module")
def sample():
    """Five series of every label."""
    return dataset_generate(per_label=5, seed=SEED + 1)


# --- Accuracy ------------------------------------------------------------------------------------------


@labelled
def test_precision_recall_and_random_walk_false_positives_on_labelled_series(dataset):
    evaluation = detector_evaluate(dataset)
    report = evaluation.confusion_table()

    for kind, (precision, recall) in ACHIEVED.items():
        assert evaluation.precision(kind) >= max(precision, AIM), f"{kind} precision\n{report}"
        assert evaluation.recall(kind) >= max(recall, AIM), f"{kind} recall\n{report}"
    assert evaluation.random_walk_fp_rate < RANDOM_WALK_FP_LIMIT, report


@labelled
def test_patterns_sit_in_walks_like_the_plain_random_walks(dataset):
    """The labels differ by their shape only: the walk around a pattern has the random walks' volatility, and
    series are as long."""
    walks = [s for s in dataset if s.label == RANDOM_WALK]
    patterns = [s for s in dataset if s.label != RANDOM_WALK]

    def log_noise(series: list) -> float:
        before = [s.bars[: s.start + 1 if s.start > 0 else None, CLOSE] for s in series]
        return float(np.mean([np.log(noise_level(np.log(closes))) for closes in before]))

    # Volatility is log-uniform over a factor of 10: the mean of 200 walks' log noise is good to about 0.05.
    assert log_noise(patterns) == pytest.approx(log_noise(walks), abs=0.25)
    assert np.median([len(s.bars) for s in patterns]) == pytest.approx(
        np.median([len(s.bars) for s in walks]), rel=0.15
    )


def test_same_seed_gives_the_same_series():
    first, second = dataset_generate(per_label=2, seed=5), dataset_generate(per_label=2, seed=5)

    assert [s.label for s in first] == [s.label for s in second] == [label for label in LABELS for _ in range(2)]
    assert all(np.array_equal(a.bars, b.bars) for a, b in zip(first, second, strict=True))


# --- The findings -----------------------------------------------------------------------------------------


def test_clean_double_bottom_is_found_with_its_key_points():
    bars = bars_through([(0, 100.0), (60, 96.0), (75, 80.0), (90, 88.0), (105, 80.4), (119, 88.6)])

    found = detect_patterns(bars, min_confidence=CONFIDENCE_THRESHOLD)

    best = max(found, key=lambda p: p.confidence)
    assert best.kind == "double_bottom"
    assert best.direction == "bullish"
    points = {label: (time, price) for time, price, label in best.points}
    assert [label for *_, label in best.points] == ["start", "first bottom", "neckline", "second bottom", "end"]
    assert points["first bottom"] == (START + 75 * HOUR, bars[75, LOW])
    assert points["neckline"] == (START + 90 * HOUR, bars[90, HIGH])
    assert points["second bottom"] == (START + 105 * HOUR, bars[105, LOW])
    assert best.breakout == pytest.approx(bars[90, HIGH])
    # The measured move, in log price: as far above the neckline as the bottoms are below it.
    assert best.target / best.breakout == pytest.approx(
        best.breakout / ((bars[75, LOW] + bars[105, LOW]) / 2), rel=1e-3
    )


def test_findings_have_sane_fields(sample):
    seen = 0
    for series in sample:
        bars = series.bars
        for p in detect_patterns(bars):
            seen += 1
            assert p.kind in PATTERN_KINDS
            assert 0.0 <= p.confidence <= 1.0
            assert bars[0, TIME] <= p.start_time < p.end_time <= bars[-1, TIME]
            assert [t for t, _, _ in p.points] == sorted(t for t, _, _ in p.points)
            for time, price, label in p.points:
                assert bars[0, TIME] <= time <= bars[-1, TIME] and label
                assert bars[:, LOW].min() <= price <= bars[:, HIGH].max()
            assert p.breakout > 0 and p.target > 0
            if p.direction == "bullish":
                assert p.target > p.breakout
            elif p.direction == "bearish":
                assert p.target < p.breakout
            else:
                assert p.kind == "symmetrical_triangle" and p.target != p.breakout
    assert seen > len(sample)


def test_findings_are_ordered_by_end_time_then_confidence(sample):
    for series in sample:
        found = detect_patterns(series.bars)
        assert found == sorted(found, key=lambda p: (p.end_time, p.confidence))


def test_one_finding_per_kind_at_most(sample):
    for series in sample:
        kinds = [p.kind for p in detect_patterns(series.bars)]
        assert len(kinds) == len(set(kinds))


def test_min_confidence_drops_weaker_findings(sample):
    for series in sample:
        found = detect_patterns(series.bars)
        assert detect_patterns(series.bars, min_confidence=0.7) == [p for p in found if p.confidence >= 0.7]


def test_as_dict_is_ready_for_json(sample):
    pattern = next(p for s in sample for p in detect_patterns(s.bars))

    data = json.loads(json.dumps(pattern.as_dict()))

    assert set(data) == {"kind", "direction", "confidence", "start_time", "end_time", "points", "breakout", "target"}
    assert data["points"] == [list(point) for point in pattern.points]


def test_the_same_chart_at_another_price_scale_gives_the_same_patterns(sample):
    for series in sample:
        scaled = series.bars.copy()
        scaled[:, OPEN : CLOSE + 1] *= 1e6

        assert [(p.kind, p.confidence) for p in detect_patterns(scaled)] == [
            (p.kind, p.confidence) for p in detect_patterns(series.bars)
        ]


def test_the_chart_upside_down_gives_the_mirror_patterns(sample):
    for series in sample:
        upside_down = sorted(
            (MIRRORED.get(p.kind, p.kind), p.confidence) for p in detect_patterns(mirrored(series.bars))
        )

        assert upside_down == sorted((p.kind, p.confidence) for p in detect_patterns(series.bars))


# --- Any input ----------------------------------------------------------------------------------------------


def test_fewer_than_30_bars_give_no_patterns():
    bars = bars_through([(0, 100.0), (60, 96.0), (75, 80.0), (90, 88.0), (105, 80.4), (119, 88.6)])

    assert detect_patterns(bars[-29:]) == []


def test_flat_series_gives_no_patterns():
    bars = np.tile([0.0, 5.0, 5.0, 5.0, 5.0, 10.0], (200, 1))
    bars[:, TIME] = START + HOUR * np.arange(200)

    assert detect_patterns(bars) == []


@pytest.mark.parametrize(
    "bars",
    [
        bars_through([(0, 1e-8), (40, 2e-8)], wiggle=0.0),  # a straight line of tiny prices
        bars_through([(0, 100.0), (29, 100.0)], wiggle=0.01),  # exactly 30 bars
        bars_through([(0, 100.0), (100, 100.0), (101, 1000.0), (300, 1000.0)], wiggle=0.001),  # one jump
        bars_through([(0, 100.0), (500, 80.0)], wiggle=0.0).astype(int),  # integers
        np.tile([0.0, 5.0, 6.0, 4.0, 5.0, 1.0], (100, 1)),  # same wicks, same close, same time
    ],
    ids=["straight line", "30 bars", "one jump", "integers", "repeated bar"],
)
def test_odd_series_never_raise(bars):
    assert isinstance(detect_patterns(bars), list)


def test_random_walk_series_of_any_length_never_raise():
    for k, length in enumerate((30, 31, 45, 80, 300, 301, 2000)):
        series = series_generate(RANDOM_WALK, np.random.default_rng(k), length=length)
        assert isinstance(detect_patterns(series.bars), list)


def test_many_short_random_walks_never_raise():
    # Short daily walks once hit two swings on one bar (an outside bar) and a pole of zero bars.
    for seed in range(150):
        for length in (30, 40, 60):
            series = series_generate(RANDOM_WALK, np.random.default_rng(10_000 + seed), length=length)
            assert isinstance(detect_patterns(series.bars), list)


@labelled
def test_no_two_findings_point_opposite_ways_over_the_same_bars(dataset):
    for series in dataset[:300]:
        found = [p for p in detect_patterns(series.bars) if p.direction != "neutral"]
        for a in found:
            for b in found:
                overlap = a.start_time <= b.end_time and b.start_time <= a.end_time
                assert not (overlap and {a.direction, b.direction} == {"bullish", "bearish"}), (a, b)


def _match(kind: str, touches: range, confidence: float) -> Match:
    return Match(kind, "neutral", confidence, [(i, 0.0, "touch") for i in touches], 0.0, 0.0, {})


def test_a_pattern_inside_a_larger_one_that_fits_nearly_as_well_is_dropped():
    larger = (_match("head_and_shoulders", range(10, 17), 0.7), 1)
    inside = (_match("symmetrical_triangle", range(12, 17), 0.8), 1)
    assert undominated([larger, inside]) == [larger]
    # Much better than the larger one: a finding of its own.
    better = (_match("symmetrical_triangle", range(12, 17), 0.9), 1)
    assert undominated([larger, better]) == [larger, better]


def test_a_triangle_extended_into_another_triangle_stays_a_reading_of_its_own():
    """The walk after a symmetrical triangle adds touches that read as a descending triangle (the ascending
    one mirrored): both stay, and the more confident one is the finding."""
    extended = (_match("ascending_triangle", range(10, 18), 0.82), -1)
    triangle = (_match("symmetrical_triangle", range(10, 15), 0.85), 1)
    assert undominated([extended, triangle]) == [extended, triangle]
