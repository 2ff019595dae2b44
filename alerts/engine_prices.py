"""Price conditions, vectorised: each kind's test on arrays of previous and current prices, and the
evaluation of one round of a price batch (each coin at most once) over every term group.

The same tests serve live batches, bar closes (``once_per_bar_close``: the close against the previous
close) and the backtest, so that a condition means one thing everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from alerts.engine_table import AlertTable, TermGroup

Test = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _inside(p, low, high):
    return (p >= low) & (p <= high)


def _moved(p1, ref, percent, sign):
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (p1 - ref) / ref * 100
    return (change >= percent) if sign > 0 else (change <= -percent)


# kind -> test(previous, current, a, b, reference close): a/b as in engine_table.term_params.
PRICE_TESTS: dict[str, Test] = {
    "price_above": lambda p0, p1, a, b, ref: p1 > a,
    "price_below": lambda p0, p1, a, b, ref: p1 < a,
    "crossing_up": lambda p0, p1, a, b, ref: (p0 <= a) & (a < p1),
    "crossing_down": lambda p0, p1, a, b, ref: (p0 >= a) & (a > p1),
    "crossing": lambda p0, p1, a, b, ref: ((p0 <= a) & (a < p1)) | ((p0 >= a) & (a > p1)),
    "entering_channel": lambda p0, p1, a, b, ref: ~_inside(p0, a, b) & _inside(p1, a, b),
    "exiting_channel": lambda p0, p1, a, b, ref: _inside(p0, a, b) & ~_inside(p1, a, b),
    "moving_up": lambda p0, p1, a, b, ref: _moved(p1, ref, a, 1),
    "moving_down": lambda p0, p1, a, b, ref: _moved(p1, ref, a, -1),
}
MOVING = ("moving_up", "moving_down")


class Round:
    """One round of a batch: each present coin's previous price, price and exchange time (ms)."""

    def __init__(self, coins: int, index: np.ndarray, previous: np.ndarray, prices: np.ndarray, ts: np.ndarray):
        self.index = index
        self.present = np.zeros(coins, dtype=bool)
        self.present[index] = True
        self.previous = np.full(coins, np.nan)
        self.prices = np.full(coins, np.nan)
        self.ts = np.zeros(coins, dtype=np.int64)
        self.previous[index], self.prices[index], self.ts[index] = previous, prices, ts


def rounds_of(index: np.ndarray, previous, prices, ts, coins: int) -> list[Round]:
    """Split batch rows (coin indexes, in order) into rounds where each coin appears once, in order:
    a coin's k-th update is in round k."""
    if not len(index):
        return []
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    first = np.r_[0, np.flatnonzero(sorted_index[1:] != sorted_index[:-1]) + 1]
    occurrence = np.arange(len(index)) - np.repeat(first, np.diff(np.r_[first, len(index)]))
    rank = np.empty(len(index), dtype=np.int64)
    rank[order] = occurrence
    previous, prices, ts = (np.asarray(x) for x in (previous, prices, ts))
    return [
        Round(coins, index[rank == k], previous[rank == k], prices[rank == k], ts[rank == k])
        for k in range(int(rank.max()) + 1)
    ]


def _selected(group: TermGroup, rnd: Round) -> np.ndarray | slice:
    """The group's terms on the round's coins: every term when most coins are present, else the
    coins' contiguous runs (terms are sorted by coin)."""
    if len(rnd.index) == len(rnd.present):
        return slice(None)  # every coin: no copy
    if len(rnd.index) * 4 > len(group.starts):
        return np.flatnonzero(rnd.present[group.coin])
    begins, ends = group.starts[rnd.index], group.starts[rnd.index + 1]
    sizes = ends - begins
    if not sizes.sum():
        return np.empty(0, dtype=np.int64)
    offsets = np.repeat(begins - np.r_[0, np.cumsum(sizes)[:-1]], sizes)
    return np.arange(sizes.sum()) + offsets


def round_holds(table: AlertTable, rnd: Round, closes) -> np.ndarray:
    """Rows of the alerts whose every price term holds in this round."""
    owners = []
    for kind, group in table.groups.items():
        picked = _selected(group, rnd)
        coin = group.coin[picked]
        p0, p1 = rnd.previous[coin], rnd.prices[coin]
        ref = _references(group, picked, coin, rnd, closes) if kind in MOVING else p1
        held = PRICE_TESTS[kind](p0, p1, group.a[picked], group.b[picked], ref)
        owners.append(group.owner[picked][held])
    if not owners:
        return np.empty(0, dtype=np.int64)
    owners = np.concatenate(owners)
    rows, counts = np.unique(owners, return_counts=True)
    return rows[counts == table.terms[rows]]


def _references(group: TermGroup, picked, coin: np.ndarray, rnd: Round, closes) -> np.ndarray:
    """Close of the bar ``bars`` bars before the bar forming at each update (NaN when not stored):
    looked up once per coin for each (timeframe, bars) pair, then picked per term."""
    present = rnd.index
    table = np.full((len(group.pairs), len(rnd.present)), np.nan)
    for p, (seconds, bars) in enumerate(group.pairs):
        opened = rnd.ts[present] // 1000 // seconds * seconds - bars * seconds
        table[p, present] = closes.close_at(tf=np.full(len(present), seconds), open_time=opened, coin=present)
    return table[group.pair[picked], coin]
