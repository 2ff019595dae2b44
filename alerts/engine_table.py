"""The active alerts as NumPy arrays: one row per alert (its coin, frequency, timeframe, cooldown,
last firing), and its price terms grouped by kind (level, channel bounds, percent and bars).

Alerts whose condition is only price terms and whose frequency is not ``once_per_bar_close`` are
evaluated on every price batch from the term groups; the rest (bar kinds, ``all_of`` holding one,
``once_per_bar_close``) wait for their timeframe's bar closes in ``at_close``.

Loading reads the alerts column by column (``AlertRows``; on PostgreSQL one COPY whose numbers are
taken out of the condition by the database, see ``engine_load``) and groups them with NumPy, one pass
per kind: only the conditions that are not a single price term are read as Python objects.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import F

from alerts.conditions import ALL_OF, BAR_KINDS, PRICE_KINDS, is_bar_condition
from alerts.models import Alert
from markets.analysis.selectors import Epoch
from markets.models import Coin
from markets.timeframes import TIMEFRAME_SECONDS

NEVER = -1  # no firing yet (last_bar, last_ms)
NO_EXPIRY = np.iinfo(np.int64).max
FREQUENCIES = ("only_once", "once_per_bar", "once_per_bar_close", "every_time")
ONLY_ONCE, ONCE_PER_BAR, ONCE_PER_BAR_CLOSE, EVERY_TIME = range(4)
TERM_KINDS = tuple(PRICE_KINDS)  # a price term's kind code is its position here
NOT_A_TERM = -1  # kind code of an alert that is not one price term (its condition is kept instead)
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
class AlertRows:
    """Alerts as read, column by column in id order: ``kind``/``a``/``b`` describe an alert that is one
    price term (``term_params``); the others (``kind`` NOT_A_TERM) and every ``once_per_bar_close``
    alert have their condition in ``conditions``, by id."""

    ids: np.ndarray
    coin: np.ndarray  # the coin's index in the table's coin_ids
    freq: np.ndarray
    tf: np.ndarray  # timeframe seconds
    cooldown_ms: np.ndarray
    last_bar: np.ndarray
    last_ms: np.ndarray
    expires_ms: np.ndarray
    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    conditions: dict[int, dict]

    def __len__(self) -> int:
        return len(self.ids)


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
    rows: AlertRows | None = None  # the columns the table was built from (shared, not copied)

    def row_of(self, pk: int) -> int:
        """The row of alert ``pk`` (rows are in id order)."""
        return int(np.searchsorted(self.ids, pk))


ROW_ARRAYS = ("ids", "coin", "freq", "tf", "cooldown_ms", "last_bar", "last_ms", "expires_ms", "kind", "a", "b")


def coins_index() -> tuple[np.ndarray, dict[str, int]]:
    """Every coin's primary key, sorted, and each symbol's position."""
    pairs = sorted(Coin.objects.values_list("pk", "symbol"))
    return np.array([pk for pk, _ in pairs], dtype=np.int64), {symbol: i for i, (_, symbol) in enumerate(pairs)}


def alert_rows_orm(*, coin_ids: np.ndarray, ids: list[int] | None = None) -> AlertRows:
    """Active alerts (those of ``ids`` only, if given) read through the ORM in chunks (any database)."""
    rows = Alert.objects.filter(status=Alert.Status.ACTIVE, coin__isnull=False)  # not a watchlist's own
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    rows = rows.order_by("pk").values_list(
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
    return rows_of(coin_ids, rows.iterator(chunk_size=LOAD_CHUNK))


def table_build(coin_ids: np.ndarray, symbols: dict[str, int], rows) -> AlertTable:
    """The table of alert rows given as (id, coin_id, condition, frequency, timeframe, cooldown,
    expires epoch s, last fired epoch s, last fired bar)."""
    return table_of(coin_ids, symbols, rows_of(coin_ids, rows))


def rows_of(coin_ids: np.ndarray, rows) -> AlertRows:
    """Columns of alert rows given as tuples (see ``table_build``), in their order."""
    coin_index = {int(pk): i for i, pk in enumerate(coin_ids.tolist())}
    rows = list(rows)
    pks, coin_pks, conditions, frequencies, timeframes, cooldowns, expires, fired, bars = (
        zip(*rows, strict=True) if rows else ((),) * 9
    )
    kinds = [TERM_CODES.get(c["kind"], NOT_A_TERM) for c in conditions]
    params = [term_params(c) if k != NOT_A_TERM else (np.nan, np.nan) for c, k in zip(conditions, kinds, strict=True)]
    freqs = np.array([FREQUENCY_CODES[f] for f in frequencies], dtype=np.int8)
    kept = {pk: c for pk, c, k, f in zip(pks, conditions, kinds, freqs, strict=True) if keeps_condition(k, f)}
    return AlertRows(
        ids=np.array(pks, dtype=np.int64),
        coin=np.array([coin_index[pk] for pk in coin_pks], dtype=np.int32),
        freq=freqs,
        tf=np.array([TIMEFRAME_SECONDS[t] for t in timeframes], dtype=np.int32),
        cooldown_ms=np.array(cooldowns, dtype=np.int64) * 1000,
        last_bar=int64_of(bars, 1),
        last_ms=int64_of(fired, 1000),
        expires_ms=int64_of(expires, 1000, missing=NO_EXPIRY),
        kind=np.array(kinds, dtype=np.int8),
        a=np.array([p[0] for p in params], dtype=np.float64),
        b=np.array([p[1] for p in params], dtype=np.float64),
        conditions=kept,
    )


def keeps_condition(kind: int, freq: int) -> bool:
    """Whether an alert's condition is kept as an object: not one price term, or evaluated at bar closes."""
    return kind == NOT_A_TERM or freq == ONCE_PER_BAR_CLOSE


FREQUENCY_CODES = {name: code for code, name in enumerate(FREQUENCIES)}
TERM_CODES = {kind: code for code, kind in enumerate(TERM_KINDS)}
TIMEFRAME_OF = {seconds: name for name, seconds in TIMEFRAME_SECONDS.items()}


def table_of(coin_ids: np.ndarray, symbols: dict[str, int], rows: AlertRows) -> AlertTable:
    """The table of ``rows``: single price terms grouped by kind with NumPy, the kept conditions filed
    under their kinds or under their timeframe's bar closes."""
    simple = (rows.kind != NOT_A_TERM) & (rows.freq != ONCE_PER_BAR_CLOSE)
    terms = simple.astype(np.int8)
    parts, at_close = _file_conditions(rows, simple, terms)
    groups = {}
    for code, kind in enumerate(TERM_KINDS):
        single = np.flatnonzero(simple & (rows.kind == code))
        owner, a, b = single, rows.a[single], rows.b[single]
        if kind in parts:
            owner, a, b = (np.concatenate([x, y]) for x, y in zip((owner, a, b), parts[kind], strict=True))
        if len(owner):
            groups[kind] = _group(owner, rows.coin[owner], a, b, rows.tf[owner], len(coin_ids))
    return AlertTable(
        coin_ids=coin_ids,
        symbols=symbols,
        ids=rows.ids,
        coin=rows.coin,
        freq=rows.freq,
        tf=rows.tf,
        cooldown_ms=rows.cooldown_ms,
        last_bar=rows.last_bar,
        last_ms=rows.last_ms,
        expires_ms=rows.expires_ms,
        terms=terms,
        live=np.ones(len(rows), dtype=bool),
        groups=groups,
        at_close={tf: dict(by_coin) for tf, by_coin in at_close.items()},
        reported={},
        rows=rows,
    )


def _file_conditions(rows: AlertRows, simple: np.ndarray, terms: np.ndarray):
    """File each kept condition (in row order) under its timeframe's bar closes, or its price terms
    under their kinds (``all_of``); set ``terms`` to how many price terms each such row has."""
    parts: dict[str, list[tuple]] = defaultdict(list)
    at_close: dict[str, dict[int, list[CloseAlert]]] = defaultdict(lambda: defaultdict(list))
    for row in np.flatnonzero(~simple).tolist():
        condition = rows.conditions[int(rows.ids[row])]
        kind = condition["kind"]
        bar = kind in BAR_KINDS or (kind == ALL_OF and is_bar_condition(condition))
        if bar or rows.freq[row] == ONCE_PER_BAR_CLOSE:
            at_close[TIMEFRAME_OF[int(rows.tf[row])]][int(rows.coin[row])].append(CloseAlert(row, condition))
            continue
        terms_of = condition["conditions"] if kind == ALL_OF else (condition,)
        terms[row] = len(terms_of)
        for part in terms_of:
            parts[part["kind"]].append((row, *term_params(part)))
    arrays = {kind: np.array(found, dtype=np.float64) for kind, found in parts.items()}
    return {kind: (t[:, 0].astype(np.int64), t[:, 1], t[:, 2]) for kind, t in arrays.items()}, at_close


def int64_of(values, scale: int, missing: int = NEVER) -> np.ndarray:
    """Numbers (None or NaN where missing) times ``scale``, rounded, as int64 (``missing`` for those)."""
    array = np.asarray(values, dtype=np.float64)  # None becomes NaN
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


def _group(owner: np.ndarray, coin: np.ndarray, a: np.ndarray, b: np.ndarray, tf: np.ndarray, coins: int) -> TermGroup:
    """A kind's terms sorted by coin (row order within a coin), with where each coin's terms start."""
    order = np.lexsort((owner, coin))
    coin, b, tf = coin[order].astype(np.int32), b[order], tf[order].astype(np.int32)
    keys = tf.astype(np.int64) * 1_000_000 + b.astype(np.int64)  # seconds, bars (moving kinds)
    unique, pair = np.unique(keys, return_inverse=True)
    return TermGroup(
        owner=owner[order].astype(np.int32),
        coin=coin,
        a=a[order],
        b=b,
        tf=tf,
        starts=np.searchsorted(coin, np.arange(coins + 1)),
        pairs=[(int(k // 1_000_000), int(k % 1_000_000)) for k in unique.tolist()],
        pair=pair.astype(np.int32).ravel(),
    )
