"""Fitting the pattern scorer: examples from labelled series, merged across seeds, and trees that learn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from markets.analysis.patterns import scoring, training
from markets.analysis.synthetic import dataset_generate


@pytest.fixture(scope="module")
def parts():
    return [training.examples(dataset_generate(per_label=3, seed=seed)) for seed in (101, 102)]


def test_examples_merged_keeps_each_data_sets_windows_apart_and_shared_across_readings(parts):
    merged = training.examples_merged(parts)
    assert set(merged) == set(parts[0]) | set(parts[1])
    for kind, (names, x, y, windows) in merged.items():
        assert names == next(part[kind][0] for part in parts if kind in part)
        assert len(x) == len(y) == len(windows) == sum(len(part[kind][2]) for part in parts if kind in part)
    # The triangle readings of one window keep one number; no number is shared between the two data sets.
    first = {int(w) for kind in scoring.JOINT_KINDS if kind in parts[0] for w in parts[0][kind][3]}
    ascending, symmetrical = (merged[kind][3] for kind in scoring.JOINT_KINDS)
    assert set(ascending.tolist()) & set(symmetrical.tolist())
    later = {int(w) for w in np.concatenate([ascending, symmetrical])} - first
    assert later and min(later) > max(first)


def test_fitted_trees_tell_the_patterns_from_the_rest_and_are_read_back(parts, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "TREES", 30)
    found = training.examples_merged(parts)
    model = training.model_fit(found)
    assert set(model) == set(found)

    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    monkeypatch.setattr(scoring, "MODEL_PATH", path)
    scoring.model.cache_clear()
    try:
        trees = scoring.model()
        for kind in ("double_top", "head_and_shoulders"):
            names, x, y, _ = found[kind]
            assert trees[kind].measures == tuple(names)
            p = trees[kind].probabilities(x)
            assert ((p > 0) & (p < 1)).all()
            # On the examples it learnt from, the patterns score well above the rest.
            assert p[y == 1].mean() > p[y == 0].mean() + 0.3, kind
    finally:
        scoring.model.cache_clear()
