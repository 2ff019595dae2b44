"""The alert engine: every active alert in NumPy arrays (``engine_table``), evaluated on every price
batch the feed publishes (``engine_prices``) and every bar close it records (``engine_bars``), the
firings claimed and stored once (``firing``).

One engine lives in each Celery worker of the ``alerts`` queue (full stack) or in one thread of the
server (embedded mode, see ``engine_runner``). It reloads its alerts when ``alerts_version()`` moves.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from alerts.changes import alerts_version
from alerts.engine_bars import close_holds
from alerts.engine_prices import round_holds, rounds_of
from alerts.engine_table import (
    EVERY_TIME,
    NEVER,
    ONCE_PER_BAR,
    ONLY_ONCE,
    AlertTable,
    CloseAlert,
    alerts_table_load,
)
from alerts.firing import Firing, Stored, alerts_expire, firings_store
from alerts.models import Alert
from alerts.readings import BarReadings, CloseBook, bars_needed, leaves
from markets.analysis.selectors import Epoch, closed_bars_load
from markets.candles import TIME
from markets.events import BarsClosed, PriceBatch
from markets.timeframes import TIMEFRAME_SECONDS

logger = logging.getLogger(__name__)
EXPIRE_EVERY = 5.0  # seconds between marking expired alerts the engine came across

Store = Callable[[list[Firing]], Stored]


class AlertEngine:
    """Active alerts in memory, evaluated batch by batch; ``store`` records the firings found."""

    def __init__(
        self, *, store: Store = firings_store, table_load=alerts_table_load, closes_source=None, watch: bool = True
    ):
        self.store = store
        self.watch = watch  # reload when alerts_version() moves (not for the backtest's own alert)
        self.table_load = table_load
        self.closes_source = closes_source
        self.version: int | None = None
        self.table: AlertTable | None = None
        self.closes: CloseBook | None = None
        self._expired_seen = False
        self._expired_at = 0.0

    # --- loading ---------------------------------------------------------------------------------

    def load(self) -> None:
        """Read every active alert (the version first, so that a change during the read reloads again)."""
        started = time.perf_counter()
        self.version = alerts_version()
        self.table = self.table_load()
        self.table.reported = _reported(self.table)
        self.closes = CloseBook(self.table.coin_ids, self.closes_source)
        logger.info("Alert engine loaded %d alerts in %.2f s", len(self.table.ids), time.perf_counter() - started)

    def refresh(self) -> None:
        """Reload when the alerts changed since the last load."""
        if self.table is None or (self.watch and alerts_version() != self.version):
            self.load()

    # --- price batches -----------------------------------------------------------------------------

    def evaluate_prices(self, batch: PriceBatch) -> list[Firing]:
        """Evaluate every price-evaluated alert on the batch's updates, in rounds where each coin
        appears once, in order; store what fired. Returns the firings found (stored or not)."""
        self.refresh()
        table = self.table
        index = np.fromiter((table.symbols.get(s, -1) for s in batch.symbols), dtype=np.int64, count=len(batch.symbols))
        known = index >= 0
        previous, prices, ts = (np.asarray(x)[known] for x in (batch.previous, batch.prices, batch.ts))
        found: list[Firing] = []
        for rnd in rounds_of(index[known], previous, prices, ts, len(table.coin_ids)):
            rows = round_holds(table, rnd, self.closes)
            found += self._admit_prices(rows, rnd)
        self._finish(found)
        return found

    def _admit_prices(self, rows: np.ndarray, rnd) -> list[Firing]:
        """The rows whose frequency lets them fire now, as firings; the in-memory state moves at once so
        that later rounds of the batch see it."""
        t = self.table
        coin = t.coin[rows]
        ts = rnd.ts[coin]
        bar = ts // 1000 // t.tf[rows] * t.tf[rows]
        ok = self._alive(rows, ts)
        freq = t.freq[rows]
        last_ms = t.last_ms[rows]
        ok &= (freq != ONCE_PER_BAR) | (t.last_bar[rows] < bar)
        cooled = (last_ms == NEVER) | ((ts - last_ms >= t.cooldown_ms[rows]) & (ts > last_ms))
        ok &= (freq != EVERY_TIME) | cooled
        rows, coin, ts, bar, freq = rows[ok], coin[ok], ts[ok], bar[ok], freq[ok]
        self._fired(rows, ts, bar)
        return [
            Firing(
                alert_id=int(t.ids[r]),
                key=f"bar:{b}" if f == ONCE_PER_BAR else f"t:{s}",
                fired_ms=int(s),
                price=float(rnd.prices[c]),
                bar_open=int(b),
                bar_guard=int(b) if f == ONCE_PER_BAR else None,
                since_ms=int(s - t.cooldown_ms[r]) if f == EVERY_TIME else None,
                values={"previous": float(rnd.previous[c])},
            )
            for r, c, s, b, f in zip(
                rows.tolist(), coin.tolist(), ts.tolist(), bar.tolist(), freq.tolist(), strict=True
            )
        ]

    def _alive(self, rows: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Rows still live and not expired at ``ts``; expired ones stop firing at once."""
        t = self.table
        expired = t.expires_ms[rows] <= ts
        if expired.any():
            t.live[rows[expired]] = False
            self._expired_seen = True
        return t.live[rows] & ~expired

    def _fired(self, rows: np.ndarray, ts: np.ndarray, bar: np.ndarray) -> None:
        t = self.table
        t.last_ms[rows], t.last_bar[rows] = ts, bar
        t.live[rows[t.freq[rows] == ONLY_ONCE]] = False

    # --- bar closes ----------------------------------------------------------------------------------

    def evaluate_bars(self, event: BarsClosed) -> list[Firing]:
        """Evaluate the alerts waiting for these bars' closes, on closed bars only; store what fired."""
        self.refresh()
        by_timeframe = defaultdict(list)
        for row in event.bars:
            by_timeframe[row.timeframe].append(row)
        found: list[Firing] = []
        for timeframe, rows in by_timeframe.items():
            found += self._evaluate_timeframe(timeframe, rows)
        self._finish(found)
        return found

    def _evaluate_timeframe(self, timeframe: str, rows: list) -> list[Firing]:
        t = self.table
        seconds = TIMEFRAME_SECONDS[timeframe]
        closed = {t.symbols[r.symbol]: r for r in rows if r.symbol in t.symbols}
        for opened in {r.time for r in closed.values()}:
            self.closes.record(seconds, opened, {c: r.close for c, r in closed.items() if r.time == opened})
        waiting = t.at_close.get(timeframe, {})
        coins = [c for c in closed if c in waiting]
        if not coins:
            return []
        count = bars_needed(a.condition for c in coins for a in waiting[c])
        stored = closed_bars_load(coin_ids=[int(t.coin_ids[c]) for c in coins], timeframe=timeframe, count=count)
        found = []
        for coin in coins:
            bars = stored.get(int(t.coin_ids[coin]), np.empty((0, 6)))
            bars = bars[bars[:, TIME] <= closed[coin].time]  # never a bar after the one announced
            if not len(bars) or int(bars[-1, TIME]) != closed[coin].time:
                logger.warning("Bar %s %s at %s is not stored; its alerts wait", coin, timeframe, closed[coin].time)
                continue
            readings = BarReadings(bars, [a.condition for a in waiting[coin]])
            found += self.at_close(waiting[coin], readings, seconds)
        return found

    def at_close(self, alerts: list[CloseAlert], readings: BarReadings, seconds: int) -> list[Firing]:
        """Firings of ``alerts`` at the close of the last bar of ``readings`` (a bar of ``seconds``)."""
        t = self.table
        opened = readings.time
        close_ms = (opened + seconds) * 1000
        found = []
        for alert in alerts:
            r = alert.row
            if not self._may_fire_at_close(r, opened, close_ms):
                continue
            held, values = close_holds(alert.condition, readings, t.reported.get(r))
            if not held:
                continue
            finding = values.pop("finding", None)
            if finding:
                t.reported.setdefault(r, set()).add(finding)
            self._fired(np.array([r]), np.array([close_ms]), np.array([opened]))
            found.append(
                Firing(
                    alert_id=int(t.ids[r]),
                    key=f"bar:{opened}",
                    fired_ms=close_ms,
                    price=readings.close(),
                    bar_open=opened,
                    bar_guard=opened,
                    since_ms=close_ms - int(t.cooldown_ms[r]) if t.freq[r] == EVERY_TIME else None,
                    values=values,
                    reported=finding,
                )
            )
        return found

    def _may_fire_at_close(self, r: int, opened: int, close_ms: int) -> bool:
        t = self.table
        if not self._alive(np.array([r]), np.array([close_ms]))[0] or t.last_bar[r] >= opened:
            return False
        last = t.last_ms[r]
        return t.freq[r] != EVERY_TIME or last == NEVER or (close_ms - last >= t.cooldown_ms[r] and close_ms > last)

    # --- after evaluating ----------------------------------------------------------------------------

    def _finish(self, found: list[Firing]) -> None:
        if found:
            stored = self.store(found)
            for pk in stored.paused:
                self.table.live[self.table.row_of(pk)] = False
            lost = [f.alert_id for f in found if f.alert_id not in stored.claimed]
            if lost:
                self._resync(lost)
        if self._expired_seen and time.monotonic() - self._expired_at > EXPIRE_EVERY:
            self._expired_seen, self._expired_at = False, time.monotonic()
            alerts_expire()

    def _resync(self, ids: list[int]) -> None:
        """Alerts another engine fired first (or that changed): take their state from the database."""
        for pk, status, bar, fired in Alert.objects.filter(pk__in=ids).values_list(
            "pk", "status", "last_fired_bar", Epoch("last_fired_at")
        ):
            r = self.table.row_of(pk)
            self.table.live[r] = status == Alert.Status.ACTIVE
            self.table.last_bar[r] = NEVER if bar is None else bar
            self.table.last_ms[r] = NEVER if fired is None else round(fired * 1000)


def _reported(table: AlertTable) -> dict[int, set[str]]:
    """Pattern findings each pattern alert already reported (from its engine_state), by row."""
    pattern_ids = [
        int(table.ids[a.row])
        for by_coin in table.at_close.values()
        for alerts in by_coin.values()
        for a in alerts
        if any(term["kind"] == "pattern_detected" for term in leaves(a.condition))
    ]
    if not pattern_ids:
        return {}
    states = Alert.objects.filter(pk__in=pattern_ids).values_list("pk", "engine_state")
    return {table.row_of(pk): set(state.get("reported", [])) for pk, state in states}
