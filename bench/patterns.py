"""Chart-pattern detector benchmark: accuracy on labelled synthetic series, and speed on one core.

Part 1, accuracy: ``--per-label`` series of every pattern kind and of plain random walks from
``markets.analysis.synthetic`` (seed ``--seed``; the test suite uses another), each run through
``detect_patterns``. A series' prediction is its most confident finding at or above
``CONFIDENCE_THRESHOLD`` that ends in the last ``LIVE_BARS`` bars, or none. Prints the confusion matrix,
precision and recall per kind against the aim (0.85 each), and the share of random walks with any
finding at the threshold (aim: under 10%).

Part 2, speed: ``detect_patterns`` on ``--coins`` series of 500 bars (a mix of every label), single
calls (p50/p95/max) and whole scans of all coins, patterns only: the indicators share the 2 s budget
of a full-market scan (``bench/analysis.py`` measures the two together through the API).

Run from the project root: ``.venv/bin/python bench/patterns.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import fmt, percentile, table, verdict  # noqa: E402

from markets.analysis.patterns import CONFIDENCE_THRESHOLD, LIVE_BARS, PATTERN_KINDS, detect_patterns  # noqa: E402
from markets.analysis.synthetic import LABELS, dataset_generate, detector_evaluate, series_generate  # noqa: E402

SEED = 2024
SERIES_PER_LABEL = 200
AIM = 0.85
FP_AIM = 0.10
COINS = 150
BARS = 500
CALL_AIM_MS = 5.0
SCAN_AIM_S = 2.0  # for indicators and patterns together


def pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def accuracy(per_label: int, seed: int) -> bool:
    dataset = dataset_generate(per_label=per_label, seed=seed)
    started = time.perf_counter()
    evaluation = detector_evaluate(dataset)
    elapsed = time.perf_counter() - started
    print(
        f"\n== Accuracy: {per_label} series per label, seed {seed}, threshold {CONFIDENCE_THRESHOLD}, "
        f"findings ending in the last {LIVE_BARS} bars ({len(dataset)} series in {elapsed:.1f} s)\n"
    )
    print("Confusion matrix (rows: label, columns: prediction)\n")
    print(evaluation.confusion_table())
    rows = []
    met = True
    for kind in PATTERN_KINDS:
        precision, recall = evaluation.precision(kind), evaluation.recall(kind)
        ok = precision >= AIM and recall >= AIM
        met &= ok
        rows.append([kind, fmt(precision, 3), fmt(recall, 3), verdict(ok)])
    print(f"\nPer kind (aim: precision and recall >= {AIM})\n")
    print(table(["kind", "precision", "recall", "aim"], rows))
    fp_rate = evaluation.random_walk_fp_rate
    print(
        f"\nRandom walks with a finding >= {CONFIDENCE_THRESHOLD}: {evaluation.random_walks_flagged}/"
        f"{evaluation.random_walks} = {fp_rate:.1%} (aim < {FP_AIM:.0%}): {verdict(fp_rate < FP_AIM)}"
    )
    return met and fp_rate < FP_AIM


def speed(coins: int, repeat: int, seed: int) -> bool:
    series = [
        series_generate(LABELS[k % len(LABELS)], np.random.default_rng([seed, k]), length=BARS).bars
        for k in range(coins)
    ]
    for bars in series[:10]:  # warm-up
        detect_patterns(bars)
    calls, scans = [], []
    for _ in range(repeat):
        scan_started = time.perf_counter()
        for bars in series:
            started = time.perf_counter()
            detect_patterns(bars)
            calls.append(time.perf_counter() - started)
        scans.append(time.perf_counter() - scan_started)
    calls.sort()
    call_p50, call_p95 = percentile(calls, 50) * 1000, percentile(calls, 95) * 1000
    scan = statistics.median(scans)
    print(f"\n== Speed: detect_patterns on {coins} series of {BARS} bars, {repeat} passes\n")
    print(
        table(
            ["", "p50", "p95", "max", "aim"],
            [
                [
                    "one call (ms)",
                    fmt(call_p50, 2),
                    fmt(call_p95, 2),
                    fmt(calls[-1] * 1000, 2),
                    f"< {CALL_AIM_MS:g}: {verdict(call_p95 < CALL_AIM_MS)}",
                ],
                [
                    f"scan of {coins} coins (s)",
                    fmt(scan, 3),
                    fmt(percentile(sorted(scans), 95), 3),
                    fmt(max(scans), 3),
                    f"{scan / SCAN_AIM_S:.0%} of the {SCAN_AIM_S:g} s budget",
                ],
            ],
        )
    )
    return call_p95 < CALL_AIM_MS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-label", type=int, default=SERIES_PER_LABEL, help="series per label (accuracy)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the data set")
    parser.add_argument("--coins", type=int, default=COINS, help="series in a scan (speed)")
    parser.add_argument("--repeat", type=int, default=5, help="scans (speed)")
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args()
    print(f"Pinned to CPU {pin_to_one_core()}")
    met = True
    if not args.skip_accuracy:
        met &= accuracy(args.per_label, args.seed)
    met &= speed(args.coins, args.repeat, args.seed)
    print(f"\nAll aims: {verdict(met)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
