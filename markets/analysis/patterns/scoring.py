"""The confidence of a match: learned from labelled series, over the measurements its matcher took.

The matchers' geometric templates find candidates; an ensemble of oblivious decision trees per
matcher (``model.json``, fitted by ``training``) turns each candidate's measurements (and its geometric
fit) into the probability that it is the pattern. That probability, tempered so that the reported
``0.5`` asks for odds of 3 to 2 (a probability of 0.6), is the confidence.

The readings of one triangle window (ascending, descending, i.e. ascending on the mirrored chart, and
symmetrical) are scored jointly: their trees give each reading a score, and a softmax over the readings
and "none of them" makes them compete, so a window is one kind of triangle at most.
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from markets.analysis.patterns.geometry import Match
from markets.analysis.patterns.swings import Swings

MODEL_PATH = Path(__file__).with_name("model.json")
# Confidence = probability ** TEMPER: 0.5 at a probability of 0.6, chosen on the validation seeds for
# random walks flagged well under 10% at a small cost in recall.
TEMPER = math.log(0.5) / math.log(0.6)
DECIMALS = 6
JOINT_KINDS = ("ascending_triangle", "symmetrical_triangle")  # the readings of a triangle window


@dataclass(frozen=True)
class Trees:
    """One matcher's ensemble: tree t sends a row to leaf sum_d 2^(D-1-d) * (x[features[t, d]] > thresholds[t, d])."""

    measures: tuple[str, ...]
    base: float
    features: np.ndarray  # (trees, depth) feature indices
    thresholds: np.ndarray  # (trees, depth)
    leaves: np.ndarray  # (trees, 2 ** depth)

    def margins(self, rows: np.ndarray) -> np.ndarray:
        """The ensemble's score of each row, in log odds."""
        depth = self.features.shape[1]
        right = rows[:, self.features] > self.thresholds  # (rows, trees, depth)
        leaf = right @ (1 << np.arange(depth - 1, -1, -1))
        return np.clip(self.base + self.leaves[np.arange(len(self.leaves)), leaf].sum(axis=1), -30, 30)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-self.margins(rows)))


@cache
def model() -> dict[str, Trees]:
    """The trees of every matcher kind, read once."""
    data = json.loads(MODEL_PATH.read_text())
    return {
        kind: Trees(
            tuple(m["measures"]),
            m["base"],
            np.asarray(m["features"], dtype=np.intp),
            np.asarray(m["thresholds"]),
            np.asarray(m["leaves"]),
        )
        for kind, m in data.items()
    }


def in_context(match: Match, swings: Swings, scale: float) -> Match:
    """The match with the measurements every matcher shares: its geometric fit, size in time, the
    zig-zag's scale, and what came after it."""
    first, last = match.points[0][0], match.points[-1][0]
    span = max(last - first, 1)
    common = {
        "fit": match.confidence,
        "scale": scale,
        "span": math.log(span),
        "tail": (swings.last - last) / span,
        "later swings": len(swings.index) - bisect.bisect_right(swings.index, last),
    }
    return replace(match, measures=match.measures | common)


def measure_rows(matches: list[Match], names: tuple[str, ...] | list[str]) -> np.ndarray:
    """The measures ``names`` of each match, one row a match, to 6 decimals: the trees must read a chart the same
    at any price scale and upside down, where the last bits of a measure (a line through two touches misses
    them by 1e-14) differ."""
    rows = np.asarray([[match.measures[name] for name in names] for match in matches], dtype=float)
    return np.round(np.nan_to_num(rows), DECIMALS)


def window_key(match: Match) -> tuple[float, int, int]:
    """The zig-zag scale and the first and last touch: the same for every reading of one window."""
    return match.measures["scale"], match.points[0][0], match.points[-1][0]


def joint_probabilities(margins: list[float], keys: list[tuple]) -> list[float]:
    """Softmax over the readings of each window and "none" (margin 0)."""
    totals: dict[tuple, list[float]] = {}
    for margin, key in zip(margins, keys, strict=True):
        totals.setdefault(key, [1.0]).append(math.exp(margin))
    # Summed in sorted order: the chart upside down lists the readings the other way round.
    sums = {key: math.fsum(sorted(terms)) for key, terms in totals.items()}
    return [math.exp(margin) / sums[key] for margin, key in zip(margins, keys, strict=True)]


def confidences(matches: list[Match]) -> list[float]:
    """The learned confidence of each match (its geometric fit for a kind the model does not know)."""
    found = [match.confidence for match in matches]
    by_kind: dict[str, list[int]] = {}
    for k, match in enumerate(matches):
        by_kind.setdefault(match.kind, []).append(k)
    trees = model()
    joint: list[tuple[int, float]] = []
    for kind, at in by_kind.items():
        if kind not in trees:
            continue
        rows = measure_rows([matches[k] for k in at], trees[kind].measures)
        if kind in JOINT_KINDS:
            joint.extend(zip(at, trees[kind].margins(rows).tolist(), strict=True))
            continue
        for k, p in zip(at, trees[kind].probabilities(rows), strict=True):
            found[k] = float(p) ** TEMPER
    if joint:
        at, margins = zip(*joint, strict=True)
        for k, p in zip(at, joint_probabilities(list(margins), [window_key(matches[k]) for k in at]), strict=True):
            found[k] = p**TEMPER
    return found
