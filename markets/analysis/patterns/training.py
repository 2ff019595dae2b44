"""Fitting the learned scorer: boosted oblivious decision trees per matcher, on labelled synthetic series.

Every match the matchers find on the training series (``synthetic.TRAINING_SEEDS``, seeds apart from the
test's and the benchmark's) is an example: positive when its kind, as reported, is the series' label and
it overlaps the labelled pattern. Each matcher gets its own ensemble of oblivious trees (one feature and
threshold per level, as in CatBoost), fitted by gradient boosting on the log loss; its output
is the probability that the match is the pattern. The triangle readings of one window are fitted
together (``scoring.JOINT_KINDS``): the gradients are those of the softmax over the window's readings and
"none", so the trees learn which reading the window is rather than each reading's odds on its own.
The trees are written to ``model.json`` beside this module.
Run: ``.venv/bin/python -m markets.analysis.patterns.training`` (about 13 minutes on two cores: the matches, one
seed a process, take 3; the trees 10).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from markets.analysis.patterns.detector import MIRRORED, WINDOW, candidates
from markets.analysis.patterns.geometry import Match
from markets.analysis.patterns.scoring import JOINT_KINDS, MODEL_PATH, measure_rows, window_key
from markets.analysis.synthetic import TRAINING_PER_LABEL, TRAINING_SEEDS, LabeledSeries, dataset_generate

TREES = 250
DEPTH = 6
RATE = 0.1
L2 = 1.0  # on the leaf values
BINS = 32  # candidate thresholds per feature: quantiles of the training values
MIN_LEAF = 20  # examples on each side of a split


Examples = tuple[list[str], np.ndarray, np.ndarray, np.ndarray]  # names, measures, labels, windows


def examples(dataset: Sequence[LabeledSeries]) -> dict[str, Examples]:
    """Per matcher kind: feature names, the measures of every match found, whether each is the pattern, and
    the window each belongs to (numbered across kinds, so that the readings of one window share it)."""
    matches: dict[str, list[Match]] = defaultdict(list)
    labels: dict[str, list[float]] = defaultdict(list)
    windows: dict[str, list[int]] = defaultdict(list)
    numbers: dict[tuple, int] = {}
    for number, series in enumerate(dataset):
        offset = max(len(series.bars) - WINDOW, 0)
        for match, sign in candidates(series.bars):
            kind = MIRRORED.get(match.kind, match.kind) if sign < 0 else match.kind
            first, last = match.points[0][0] + offset, match.points[-1][0] + offset
            matches[match.kind].append(match)
            labels[match.kind].append(float(kind == series.label and last >= series.start and first <= series.end))
            windows[match.kind].append(numbers.setdefault((number, *window_key(match)), len(numbers)))
    names = {kind: sorted(found[0].measures) for kind, found in matches.items()}
    return {
        kind: (
            names[kind],
            measure_rows(matches[kind], names[kind]),
            np.asarray(labels[kind]),
            np.asarray(windows[kind]),
        )
        for kind in names
    }


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def _best_split(bins: np.ndarray, node: np.ndarray, nodes: int, g: np.ndarray, h: np.ndarray) -> tuple[int, int]:
    """The feature and bin that split every node of a level best (Newton gain), as (feature, bin)."""
    best, found = -np.inf, (0, 0)
    for f in range(bins.shape[1]):
        width = int(bins[:, f].max()) + 1
        key = node * width + bins[:, f]
        stats = [np.bincount(key, w, nodes * width).reshape(nodes, width) for w in (g, h, None)]
        left = [np.cumsum(s, axis=1)[:, :-1] for s in stats]
        total = [s.sum(axis=1, keepdims=True) for s in stats]
        (gl, hl, cl), (gt, ht, ct) = left, total
        gain = gl**2 / (hl + L2) + (gt - gl) ** 2 / (ht - hl + L2)
        too_small = (cl < MIN_LEAF) | (ct - cl < MIN_LEAF)
        gain = np.where(too_small, gt**2 / (ht + L2), gain).sum(axis=0)
        if gain.size and gain.max() > best:
            best, found = float(gain.max()), (f, int(gain.argmax()))
    return found


class Ensemble:
    """One matcher's trees while they are being fitted, and every example's margin so far."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        quantiles = np.linspace(0, 100, BINS + 1)[1:-1]
        self.cuts = [np.unique(np.percentile(x[:, f], quantiles)) for f in range(x.shape[1])]
        # Bin b of feature f holds the values above cuts[f][b - 1]: a split at bin j sends x > cuts[f][j] right.
        self.bins = np.stack([np.searchsorted(self.cuts[f], x[:, f], side="left") for f in range(x.shape[1])], axis=1)
        prior = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
        self.base = float(np.log(prior / (1 - prior)))
        self.margin = np.full(len(y), self.base)
        self.features: list[list[int]] = []
        self.thresholds: list[list[float]] = []
        self.leaves: list[np.ndarray] = []

    def grow(self, g: np.ndarray, h: np.ndarray) -> None:
        """One more tree, a Newton step on the loss whose gradients and hessians are ``g`` and ``h``."""
        node = np.zeros(len(g), dtype=int)
        features, thresholds = [], []
        for depth in range(DEPTH):
            f, j = _best_split(self.bins, node, 2**depth, g, h)
            features.append(f)
            thresholds.append(float(self.cuts[f][j]))
            node = node * 2 + (self.bins[:, f] > j)
        leaf = -RATE * np.bincount(node, g, 2**DEPTH) / (np.bincount(node, h, 2**DEPTH) + L2)
        self.margin += leaf[node]
        self.features.append(features)
        self.thresholds.append(thresholds)
        self.leaves.append(leaf)

    def as_dict(self) -> dict:
        return {
            "base": round(self.base, 6),
            "features": self.features,
            "thresholds": [[float(f"{t:.7g}") for t in row] for row in self.thresholds],
            "leaves": [[round(float(v), 5) for v in row] for row in self.leaves],
        }


def trees_fit(x: np.ndarray, y: np.ndarray) -> dict:
    """Boosted oblivious trees for examples ``x`` (rows) with 0/1 labels ``y``, on the log loss."""
    ensemble = Ensemble(x, y)
    for _ in range(TREES):
        p = _sigmoid(ensemble.margin)
        ensemble.grow(p - y, np.maximum(p * (1 - p), 1e-6))
    return ensemble.as_dict()


def joint_fit(kinds: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[dict]:
    """Boosted trees per kind for examples ``(x, y, window)`` of several kinds, on the log loss of the softmax
    over each window's readings and "none": the probability of a reading is exp(its margin) / (1 + the sum
    of exp(margin) over its window's readings)."""
    ensembles = [Ensemble(x, y) for x, y, _ in kinds]
    windows = np.concatenate([window for _, _, window in kinds])
    y = np.concatenate([labels for _, labels, _ in kinds])
    ends = np.cumsum([len(labels) for _, labels, _ in kinds])[:-1]
    for _ in range(TREES):
        e = np.exp(np.clip(np.concatenate([ensemble.margin for ensemble in ensembles]), -30, 30))
        p = e / (1 + np.bincount(windows, e))[windows]
        g, h = p - y, np.maximum(p * (1 - p), 1e-6)
        for ensemble, gk, hk in zip(ensembles, np.split(g, ends), np.split(h, ends), strict=True):
            ensemble.grow(gk, hk)
    return [ensemble.as_dict() for ensemble in ensembles]


def seed_examples(seed: int) -> dict[str, Examples]:
    """``examples`` of the training series of one seed."""
    return examples(dataset_generate(per_label=TRAINING_PER_LABEL, seed=seed))


def examples_merged(parts: Sequence[dict[str, Examples]]) -> dict[str, Examples]:
    """Several data sets' examples as one, each data set's window numbers moved past the previous ones'."""
    merged: dict[str, list[Examples]] = defaultdict(list)
    offset = 0
    for part in parts:
        for kind, (names, x, y, windows) in part.items():
            merged[kind].append((names, x, y, windows + offset))
        offset += 1 + max((int(windows.max()) for *_, windows in part.values() if len(windows)), default=-1)
    return {
        kind: (found[0][0], *(np.concatenate([f[i] for f in found]) for i in (1, 2, 3)))
        for kind, found in merged.items()
    }


def model_fit(found: dict[str, Examples]) -> dict:
    """The scorer's model: for each matcher kind, its feature names and trees."""
    model = {
        kind: {"measures": names, **trees_fit(x, y)}
        for kind, (names, x, y, _) in found.items()
        if kind not in JOINT_KINDS
    }
    joint = [kind for kind in JOINT_KINDS if kind in found]
    fitted = joint_fit([found[kind][1:] for kind in joint]) if joint else []
    model |= {kind: {"measures": found[kind][0], **trees} for kind, trees in zip(joint, fitted, strict=True)}
    return dict(sorted(model.items()))


def main(path: Path = MODEL_PATH, seeds: Sequence[int] = TRAINING_SEEDS) -> None:
    # One seed a process: finding the matches is most of the time, and the seeds are independent.
    with ProcessPoolExecutor() as pool:
        found = examples_merged(list(pool.map(seed_examples, seeds)))
    model = model_fit(found)
    path.write_text(json.dumps(model, separators=(",", ":")) + "\n")
    print(f"{path}: {', '.join(f'{kind} ({len(m["measures"])} measures)' for kind, m in model.items())}")


if __name__ == "__main__":
    main()
