"""Reading active alerts into ``AlertRows`` columns, all of them or (``alerts_table_update``) only those
changed since the last read. On PostgreSQL one ``COPY`` in which the database
takes the kind code, level/low/high/percent/bars, the frequency and timeframe codes and the epochs out of
each row, parsed by pandas' CSV reader: a million alerts cost no Python object each, only the
conditions that are not one price term (``all_of``, bar kinds, ``once_per_bar_close``) are parsed as
JSON (pandas 3 parses floats exactly: a level reads back as the same double). Other databases read
rows through the ORM (``engine_table.alert_rows_orm``).
"""

from __future__ import annotations

import io
import json
from datetime import datetime

import numpy as np
from django.db import connection

from alerts.engine_table import (
    FREQUENCIES,
    NO_EXPIRY,
    NOT_A_TERM,
    ROW_ARRAYS,
    TERM_KINDS,
    AlertRows,
    AlertTable,
    alert_rows_orm,
    coins_index,
    int64_of,
    table_of,
)
from alerts.models import Alert
from markets.timeframes import TIMEFRAME_SECONDS

TIMEFRAME_NAMES = tuple(TIMEFRAME_SECONDS)
FRESH_AT_MOST = 20_000  # alerts read again by id (an id list's size; SQLite takes 32,766 parameters)
# A term's numbers as engine_table.term_params takes them: level twice, low and high, percent and bars.
ROWS_SQL = """
SELECT id, coin_id,
    array_position(%(frequencies)s::text[], frequency::text) - 1,
    array_position(%(timeframes)s::text[], timeframe::text) - 1,
    cooldown,
    CAST(EXTRACT(EPOCH FROM expires_at) AS DOUBLE PRECISION),
    CAST(EXTRACT(EPOCH FROM last_fired_at) AS DOUBLE PRECISION),
    last_fired_bar,
    coalesce(k.code - 1, {not_a_term}),
    CASE WHEN k.code IS NOT NULL THEN CAST(coalesce(condition->>'level', condition->>'low', condition->>'percent')
        AS DOUBLE PRECISION) END,
    CASE WHEN k.code IS NOT NULL THEN CAST(coalesce(condition->>'level', condition->>'high', condition->>'bars')
        AS DOUBLE PRECISION) END,
    CASE WHEN k.code IS NULL OR frequency = 'once_per_bar_close' THEN condition::text END
FROM alerts_alert CROSS JOIN LATERAL (SELECT array_position(%(kinds)s::text[], condition->>'kind') AS code) AS k
WHERE status = 'active' AND coin_id IS NOT NULL {only}
ORDER BY id
"""
ACTIVE_SQL = (
    "SELECT id, CASE WHEN updated_at >= %s THEN 1 ELSE 0 END FROM alerts_alert "
    "WHERE status = 'active' AND coin_id IS NOT NULL ORDER BY id"
)
COLUMNS = ("id", "coin", "freq", "tf", "cooldown", "expires", "fired", "bar", "kind", "a", "b", "condition")


def alerts_table_load() -> AlertTable:
    """Every active alert read into arrays."""
    coin_ids, symbols = coins_index()
    return table_of(coin_ids, symbols, alert_rows_read(coin_ids=coin_ids))


def alerts_table_update(table: AlertTable, *, since: datetime) -> AlertTable:
    """``table`` brought up to date: alerts no longer active dropped, those changed at or after ``since``
    (or newly active) read again, the others kept with what the engine remembers of them (last firing,
    spent or expired in memory). A change of coins reads everything again."""
    coin_ids, symbols = coins_index()
    if not np.array_equal(coin_ids, table.coin_ids) or table.rows is None:
        return table_of(coin_ids, symbols, alert_rows_read(coin_ids=coin_ids))
    active, changed = _active_ids(since)
    fresh = active[changed | ~np.isin(active, table.ids)]
    if len(fresh) > FRESH_AT_MOST:  # most changed (an import, a restore): one read of all is cheaper
        return table_of(coin_ids, symbols, alert_rows_read(coin_ids=coin_ids))
    keep = np.isin(table.ids, active) & ~np.isin(table.ids, fresh)
    read = alert_rows_read(coin_ids=coin_ids, ids=fresh.tolist())
    rows, order = _rows_join(table.rows, keep, read)
    updated = table_of(coin_ids, symbols, rows)
    updated.live = np.concatenate([table.live[keep], np.ones(len(read), dtype=bool)])[order]
    return updated


def _rows_join(old: AlertRows, keep: np.ndarray, new: AlertRows) -> tuple[AlertRows, np.ndarray]:
    """The kept rows of ``old`` and the rows of ``new``, in id order; and that order."""
    ids = np.concatenate([old.ids[keep], new.ids])
    order = np.argsort(ids, kind="stable")
    dropped = set(old.ids[~keep].tolist())
    conditions = {pk: c for pk, c in old.conditions.items() if pk not in dropped} | new.conditions
    arrays = {name: np.concatenate([getattr(old, name)[keep], getattr(new, name)])[order] for name in ROW_ARRAYS}
    return AlertRows(**arrays, conditions=conditions), order


def _active_ids(since: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Every active alert's id, in order, and whether it changed at or after ``since``."""
    if connection.vendor != "postgresql":
        active = Alert.objects.filter(status=Alert.Status.ACTIVE, coin__isnull=False)
        changed = set(active.filter(updated_at__gte=since).values_list("pk", flat=True))
        ids = np.array(sorted(active.values_list("pk", flat=True)), dtype=np.int64)
        return ids, np.isin(ids, list(changed))
    import pandas as pd

    buffer = _copied(ACTIVE_SQL, [since])
    if not buffer.getbuffer().nbytes:
        return np.empty(0, np.int64), np.empty(0, bool)
    frame = pd.read_csv(buffer, header=None, names=("id", "changed"), dtype=np.int64)
    return frame["id"].to_numpy(np.int64), frame["changed"].to_numpy() == 1


def alert_rows_read(*, coin_ids: np.ndarray, ids: list[int] | None = None) -> AlertRows:
    """Active alerts (those of ``ids`` only, if given) as columns in id order."""
    if connection.vendor != "postgresql":
        return alert_rows_orm(coin_ids=coin_ids, ids=ids)
    return _rows_postgres(coin_ids, ids)


def _rows_postgres(coin_ids: np.ndarray, ids: list[int] | None) -> AlertRows:
    import pandas as pd

    params = {"frequencies": list(FREQUENCIES), "timeframes": list(TIMEFRAME_NAMES), "kinds": list(TERM_KINDS)}
    only = ""
    if ids is not None:
        only, params["ids"] = "AND id = ANY(%(ids)s::bigint[])", [int(pk) for pk in ids]
    buffer = _copied(ROWS_SQL.format(not_a_term=NOT_A_TERM, only=only), params)
    if not buffer.getbuffer().nbytes:  # no alert: pandas reads no columns from an empty text
        return _columns(coin_ids, pd.DataFrame({name: [] for name in COLUMNS}))
    frame = pd.read_csv(
        buffer,
        header=None,
        names=COLUMNS,
        dtype={"condition": object},
        keep_default_na=False,
        na_values=[""],
    )
    return _columns(coin_ids, frame)


def _copied(sql: str, params) -> io.BytesIO:
    """The rows of ``sql`` as CSV, through COPY (no Python object per row on the way)."""
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.copy_expert(f"COPY ({raw.mogrify(sql, params).decode()}) TO STDOUT WITH (FORMAT csv)", buffer)
    buffer.seek(0)
    return buffer


def _columns(coin_ids: np.ndarray, frame) -> AlertRows:
    coin_pks = frame["coin"].to_numpy(np.int64)
    coin = np.searchsorted(coin_ids, coin_pks)
    if len(coin) and (coin.max() >= len(coin_ids) or (coin_ids[coin] != coin_pks).any()):
        raise KeyError("an alert's coin is not in the coin index")  # a coin added since: the next load has it
    ids = frame["id"].to_numpy(np.int64)
    kept = frame["condition"].notna().to_numpy()
    seconds = np.array([TIMEFRAME_SECONDS[t] for t in TIMEFRAME_NAMES], dtype=np.int32)
    return AlertRows(
        ids=ids,
        coin=coin.astype(np.int32),
        freq=frame["freq"].to_numpy(np.int8),
        tf=seconds[frame["tf"].to_numpy(np.int64)],
        cooldown_ms=frame["cooldown"].to_numpy(np.int64) * 1000,
        last_bar=int64_of(frame["bar"].to_numpy(np.float64), 1),
        last_ms=int64_of(frame["fired"].to_numpy(np.float64), 1000),
        expires_ms=int64_of(frame["expires"].to_numpy(np.float64), 1000, missing=NO_EXPIRY),
        kind=frame["kind"].to_numpy(np.int8),
        a=frame["a"].to_numpy(np.float64),
        b=frame["b"].to_numpy(np.float64),
        conditions={
            int(pk): json.loads(text) for pk, text in zip(ids[kept].tolist(), frame["condition"][kept], strict=True)
        },
    )
