"""Fitting the learned scorer: boosted oblivious decision trees per matcher, on labelled synthetic series.

Every match the matchers find on the training series (``synthetic.training_set``, seeds apart from the
test's and the benchmark's) is an example: positive when its kind, as reported, is the series' label and
it overlaps the labelled pattern. Each matcher gets its own ensemble of small oblivious trees (one
feature and threshold per level, as in CatBoost), fitted by gradient boosting on the log loss; its output
is the probability that the match is the pattern. The trees are written to ``model.json`` beside this
module. Run: ``.venv/bin/python -m markets.analysis.patterns.training`` (about a minute).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from markets.analysis.patterns.detector import MIRRORED, WINDOW, candidates
from markets.analysis.patterns.geometry import Match
from markets.analysis.patterns.scoring import MODEL_PATH, measure_rows
from markets.analysis.synthetic import LabeledSeries, training_set

TREES = 100
DEPTH = 4
RATE = 0.1
L2 = 1.0  # on the leaf values
BINS = 32  # candidate thresholds per feature: quantiles of the training values
MIN_LEAF = 20  # examples on each side of a split


def examples(dataset: Sequence[LabeledSeries]) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """Per matcher kind: feature names, the measures of every match found, and whether each is the pattern."""
    matches: dict[str, list[Match]] = defaultdict(list)
    labels: dict[str, list[float]] = defaultdict(list)
    for series in dataset:
        offset = max(len(series.bars) - WINDOW, 0)
        for match, sign in candidates(series.bars):
            kind = MIRRORED.get(match.kind, match.kind) if sign < 0 else match.kind
            first, last = match.points[0][0] + offset, match.points[-1][0] + offset
            matches[match.kind].append(match)
            labels[match.kind].append(float(kind == series.label and last >= series.start and first <= series.end))
    names = {kind: sorted(found[0].measures) for kind, found in matches.items()}
    return {kind: (names[kind], measure_rows(matches[kind], names[kind]), np.asarray(labels[kind])) for kind in names}


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


def trees_fit(x: np.ndarray, y: np.ndarray) -> dict:
    """Boosted oblivious trees for examples ``x`` (rows) with 0/1 labels ``y``."""
    quantiles = np.linspace(0, 100, BINS + 1)[1:-1]
    cuts = [np.unique(np.percentile(x[:, f], quantiles)) for f in range(x.shape[1])]
    # Bin b of feature f holds the values above cuts[f][b - 1]: a split at bin j sends x > cuts[f][j] right.
    bins = np.stack([np.searchsorted(cuts[f], x[:, f], side="left") for f in range(x.shape[1])], axis=1)
    prior = float(np.clip(y.mean(), 1e-4, 1 - 1e-4))
    base = np.log(prior / (1 - prior))
    margin = np.full(len(y), base)
    features, thresholds, leaves = [], [], []
    for _ in range(TREES):
        p = _sigmoid(margin)
        g, h = p - y, np.maximum(p * (1 - p), 1e-6)
        node = np.zeros(len(y), dtype=int)
        tree_features, tree_thresholds = [], []
        for depth in range(DEPTH):
            f, j = _best_split(bins, node, 2**depth, g, h)
            tree_features.append(f)
            tree_thresholds.append(float(cuts[f][j]))
            node = node * 2 + (bins[:, f] > j)
        leaf = -RATE * np.bincount(node, g, 2**DEPTH) / (np.bincount(node, h, 2**DEPTH) + L2)
        margin += leaf[node]
        features.append(tree_features)
        thresholds.append(tree_thresholds)
        leaves.append(leaf)
    return {
        "base": round(float(base), 6),
        "features": features,
        "thresholds": [[float(f"{t:.7g}") for t in row] for row in thresholds],
        "leaves": [[round(float(v), 5) for v in row] for row in leaves],
    }


def model_fit(dataset: Sequence[LabeledSeries]) -> dict:
    """The scorer's model: for each matcher kind, its feature names and trees."""
    return {kind: {"measures": names, **trees_fit(x, y)} for kind, (names, x, y) in sorted(examples(dataset).items())}


def main(path: Path = MODEL_PATH) -> None:
    model = model_fit(training_set())
    path.write_text(json.dumps(model, separators=(",", ":")) + "\n")
    print(f"{path}: {', '.join(f'{kind} ({len(m["measures"])} measures)' for kind, m in model.items())}")


if __name__ == "__main__":
    main()
