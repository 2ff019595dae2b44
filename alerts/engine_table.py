"""The active alerts as NumPy arrays: one row per alert (its coin, frequency, timeframe, cooldown,
last firing), and its price terms grouped by kind (level, channel bounds, percent and bars).

Alerts whose condition is only price terms and whose frequency is not ``once_per_bar_close`` are
evaluated on every price batch from the term groups; the rest (bar kinds, ``all_of`` holding one,
``once_per_bar_close``) wait for their timeframe's bar closes in ``at_close``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import F

from alerts.conditions import ALL_OF, BAR_KINDS, is_bar_condition
from alerts.models import Alert
from markets.analysis.selectors import Epoch
from markets.models import Coin
from markets.timeframes import TIMEFRAME_SECONDS

NEVER = -1  # no firing yet (last_bar, last_ms)
NO_EXPIRY = np.iinfo(np.int64).max
FREQUENCIES = ("only_once", "once_per_bar", "once_per_bar_close", "every_time")
ONLY_ONCE, ONCE_PER_BAR, ONCE_PER_BAR_CLOSE, EVERY_TIME = range(4)
LOAD_CHUNK = 20_000


@dataclass
class TermGroup:
    """The price terms of one kind, sorted by coin: ``owner`` is the alert's row; ``a``/``b`` are level,
    or low/high, or percent/bars."""

    owner: np.ndarray
    coin: np.ndarray
    a: np.ndarray
    b: np.ndarray
    tf: np.ndarray
    starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))  # per coin, into the sorted rows
    # moving kinds: the distinct (timeframe seconds, bars) pairs, and each term's pair
    pairs: list[tuple[int, int]] = field(default_factory=list)
    pair: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    def __len__(self) -> int:
        return len(self.owner)


@dataclass
class CloseAlert:
    """An alert evaluated at its timeframe's bar closes: its row and its condition."""

    row: int
    condition: dict


@dataclass
class AlertTable:
    """Every active alert's row, its price terms by kind, and the alerts evaluated at bar closes by timeframe."""

    coin_ids: np.ndarray  # sorted Coin primary keys; a coin's index is its position here
    symbols: dict[str, int]
    ids: np.ndarray
    coin: np.ndarray
    freq: np.ndarray
    tf: np.ndarray
    cooldown_ms: np.ndarray
    last_bar: np.ndarray
    last_ms: np.ndarray
    expires_ms: np.ndarray
    terms: np.ndarray  # price terms each row needs to hold together (0: evaluated at bar closes)
    live: np.ndarray  # False once spent, auto-paused or expired in memory
    groups: dict[str, TermGroup]
    at_close: dict[str, dict[int, list[CloseAlert]]]  # timeframe -> coin index -> alerts
    reported: dict[int, set[str]]  # pattern alerts' findings already reported, by row

    def row_of(self, pk: int) -> int:
        """The row of alert ``pk`` (rows are in id order)."""
        return int(np.searchsorted(self.ids, pk))


def coins_index() -> tuple[np.ndarray, dict[str, int]]:
    """Every coin's primary key, sorted, and each symbol's position."""
    pairs = sorted(Coin.objects.values_list("pk", "symbol"))
    return np.array([pk for pk, _ in pairs], dtype=np.int64), {symbol: i for i, (_, symbol) in enumerate(pairs)}


def alerts_table_load(*, queryset=None) -> AlertTable:
    """Every active alert (or those of ``queryset``) read in chunks into arrays."""
    coin_ids, symbols = coins_index()
    queryset = Alert.objects.filter(status=Alert.Status.ACTIVE) if queryset is None else queryset
    rows = queryset.order_by("pk").values_list(
        "pk",
        "coin_id",
        "condition",
        "frequency",
        "timeframe",
        "cooldown",
        Epoch(F("expires_at")),
        Epoch(F("last_fired_at")),
        "last_fired_bar",
    )
    return table_build(coin_ids, symbols, rows.iterator(chunk_size=LOAD_CHUNK))


def table_build(coin_ids: np.ndarray, symbols: dict[str, int], rows) -> AlertTable:
    """The table of alert rows given as (id, coin_id, condition, frequency, timeframe, cooldown,
    expires epoch s, last fired epoch s, last fired bar), read a chunk at a time, column by column."""
    coin_index = {int(pk): i for i, pk in enumerate(coin_ids.tolist())}
    columns: dict[str, list[np.ndarray]] = defaultdict(list)
    terms: dict[str, list[tuple]] = defaultdict(list)
    at_close: dict[str, dict[int, list[CloseAlert]]] = defaultdict(lambda: defaultdict(list))
    done = 0
    for chunk in _chunks(rows):
        pks, coin_pks, conditions, frequencies, timeframes, cooldowns, expires, fired, bars = zip(*chunk, strict=True)
        coins = [coin_index[pk] for pk in coin_pks]
        freqs = [FREQUENCY_CODES[f] for f in frequencies]
        seconds = [TIMEFRAME_SECONDS[t] for t in timeframes]
        counts = _sort_terms(done, conditions, coins, freqs, timeframes, seconds, terms, at_close)
        for name, values, dtype in (
            ("ids", pks, np.int64),
            ("coin", coins, np.int32),
            ("freq", freqs, np.int8),
            ("tf", seconds, np.int32),
            ("cooldown_ms", cooldowns, np.int64),
            ("terms", counts, np.int8),
        ):
            columns[name].append(np.array(values, dtype=dtype))
        columns["last_bar"].append(_int64(bars, 1))
        columns["last_ms"].append(_int64(fired, 1000))
        columns["expires_ms"].append(_int64(expires, 1000, missing=NO_EXPIRY))
        done += len(chunk)
    arrays = {name: np.concatenate(columns[name]) if columns[name] else np.empty(0, np.int64) for name in ARRAYS}
    arrays["cooldown_ms"] *= 1000
    return AlertTable(
        coin_ids=coin_ids,
        symbols=symbols,
        **arrays,
        live=np.ones(done, dtype=bool),
        groups={kind: _group(rows, len(coin_ids)) for kind, rows in terms.items()},
        at_close={tf: dict(by_coin) for tf, by_coin in at_close.items()},
        reported={},
    )


ARRAYS = ("ids", "coin", "freq", "tf", "cooldown_ms", "last_bar", "last_ms", "expires_ms", "terms")
FREQUENCY_CODES = {name: code for code, name in enumerate(FREQUENCIES)}


def _chunks(rows):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == LOAD_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sort_terms(first: int, conditions, coins, freqs, timeframes, seconds, terms, at_close) -> list[int]:
    """File each alert's price terms under their kinds, or the alert under its timeframe's bar closes;
    return how many price terms each has (0: evaluated at bar closes)."""
    counts = []
    for i, condition in enumerate(conditions):
        kind, row = condition["kind"], first + i
        bar = kind in BAR_KINDS or (kind == ALL_OF and is_bar_condition(condition))
        if bar or freqs[i] == ONCE_PER_BAR_CLOSE:
            counts.append(0)
            at_close[timeframes[i]][coins[i]].append(CloseAlert(row, condition))
            continue
        parts = condition["conditions"] if kind == ALL_OF else (condition,)
        counts.append(len(parts))
        for part in parts:
            terms[part["kind"]].append((row, coins[i], *term_params(part), seconds[i]))
    return counts


def _int64(values: list, scale: int, missing: int = NEVER) -> np.ndarray:
    """Numbers (None where missing) times ``scale``, rounded, as int64 (``missing`` for None)."""
    array = np.array(values, dtype=np.float64)  # None becomes NaN
    out = np.full(len(array), missing, dtype=np.int64)
    present = ~np.isnan(array)
    out[present] = np.round(array[present] * scale).astype(np.int64)
    return out


def term_params(condition: dict) -> tuple[float, float]:
    """A price term's two numbers: level (twice), low and high, or percent and bars."""
    if "level" in condition:
        return condition["level"], condition["level"]
    if "low" in condition:
        return condition["low"], condition["high"]
    return condition["percent"], condition["bars"]


def _group(rows: list[tuple], coins: int) -> TermGroup:
    """A kind's terms sorted by coin, with where each coin's terms start."""
    table = np.array(rows, dtype=np.float64)
    table = table[np.argsort(table[:, 1], kind="stable")]
    coin = table[:, 1].astype(np.int32)
    keys = table[:, 4].astype(np.int64) * 1_000_000 + table[:, 3].astype(np.int64)  # seconds, bars (moving kinds)
    unique, pair = np.unique(keys, return_inverse=True)
    return TermGroup(
        owner=table[:, 0].astype(np.int32),
        coin=coin,
        a=table[:, 2].copy(),
        b=table[:, 3].copy(),
        tf=table[:, 4].astype(np.int32),
        starts=np.searchsorted(coin, np.arange(coins + 1)),
        pairs=[(int(k // 1_000_000), int(k % 1_000_000)) for k in unique.tolist()],
        pair=pair.astype(np.int32).ravel(),
    )
