"""What bar conditions read, computed once per (coin, timeframe, closed bar): indicator series from
the analysis package (pandas-ta, TA-Lib's definitions), volume means and pattern findings; and the
closes of stored bars that ``moving_up``/``moving_down`` compare against.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from itertools import zip_longest

import numpy as np

from alerts.conditions import ALL_OF
from markets.analysis.indicators import indicators_compute
from markets.analysis.params import AnalysisParams
from markets.analysis.patterns import detect_patterns
from markets.candles import CLOSE, TIME, VOLUME
from markets.models import Candle
from markets.timeframes import TIMEFRAME_SECONDS

TIMEFRAME_NAMES = {seconds: name for name, seconds in TIMEFRAME_SECONDS.items()}
PATTERN_BARS = 300  # what the detector looks at
REFRESH_SECONDS = 3.0  # how soon closes missing from the table are asked for again
BOOK_SIZE = 256  # (timeframe, bar) entries kept


def leaves(condition: dict) -> list[dict]:
    """The condition's own terms: itself, or an all_of's conditions."""
    return condition["conditions"] if condition["kind"] == ALL_OF else [condition]


class BarReadings:
    """One coin's closed bars of one timeframe (the last is the bar that just closed) and every
    reading its alerts ask for, each computed once."""

    def __init__(self, bars: np.ndarray, conditions: Iterable[dict] = ()):
        self.bars = bars
        self.end = len(bars)  # bars after it are not there yet (the backtest moves it along)
        self.series: dict[str, np.ndarray] = {}
        self._patterns: dict[int, list[dict]] = {}
        self._compute([c for condition in conditions for c in leaves(condition)])

    def _compute(self, terms: list[dict]) -> None:
        """Run the analysis package's indicators once per set of lengths the terms need (usually one)."""
        rsi = sorted({t["length"] for t in terms if t["kind"].startswith("rsi_")})
        macd = sorted({(t["fast"], t["slow"], t["signal"]) for t in terms if t["kind"].startswith("macd_")})
        bb = sorted({(t["length"], t["std"]) for t in terms if t["kind"].startswith("bb_")})
        sma = tuple(sorted({t[k] for t in terms if t["kind"].startswith("ma_cross") for k in ("fast", "slow")}))
        for i, (r, m, b) in enumerate(zip_longest(rsi, macd, bb)):
            params = AnalysisParams(
                rsi_length=r or 14,
                **(dict(zip(("macd_fast", "macd_slow", "macd_signal"), m, strict=True)) if m else {}),
                **(dict(zip(("bb_length", "bb_std"), b, strict=True)) if b else {}),
                sma=sma if i == 0 else (),
                ema=(),
            )
            self._keep(indicators_compute(bars=self.bars, params=params).series, r, m, b)
        if sma and not (rsi or macd or bb):
            self._keep(indicators_compute(bars=self.bars, params=AnalysisParams(sma=sma, ema=())).series)

    def _keep(self, series: dict[str, np.ndarray], rsi=None, macd=None, bb=None) -> None:
        if rsi:
            self.series[f"rsi:{rsi}"] = series["rsi"]
        if macd:
            self.series[f"macd:{macd}"] = series["macd"]
            self.series[f"macd_signal:{macd}"] = series["macd_signal"]
        if bb:
            for band in ("bb_upper", "bb_middle", "bb_lower"):
                self.series[f"{band}:{bb}"] = series[band]
        self.series.update({k: v for k, v in series.items() if k.startswith("sma_")})

    def last(self, name: str, back: int = 0) -> float:
        """The value of series ``name`` ``back`` bars before the last closed bar (NaN when undefined)."""
        values = self.series.get(name)
        if values is None or self.end <= back:
            return math.nan
        return float(values[self.end - 1 - back])

    def close(self, back: int = 0) -> float:
        return float(self.bars[self.end - 1 - back, CLOSE]) if self.end > back else math.nan

    @property
    def volume(self) -> float:
        return float(self.bars[self.end - 1, VOLUME]) if self.end else math.nan

    def volume_mean(self, bars: int) -> float:
        """Mean volume of the ``bars`` bars before the last one."""
        if self.end < bars + 1:
            return math.nan
        return float(self.bars[self.end - bars - 1 : self.end - 1, VOLUME].mean())

    @property
    def time(self) -> int:
        return int(self.bars[self.end - 1, TIME])

    def patterns(self) -> list[dict]:
        """The detector's findings at the last closed bar."""
        if self.end not in self._patterns:
            window = self.bars[max(0, self.end - PATTERN_BARS) : self.end]
            self._patterns[self.end] = [p.as_dict() for p in detect_patterns(window)] if len(window) else []
        return self._patterns[self.end]


def bars_needed(conditions: Iterable[dict]) -> int:
    """How many closed bars the conditions' readings need, with room for the averages to settle."""
    longest = 2
    for term in (t for c in conditions for t in leaves(c)):
        if term["kind"] == "pattern_detected":
            longest = max(longest, PATTERN_BARS)
        periods = [term.get(k, 0) for k in ("length", "slow", "bars")]
        longest = max(longest, 3 * (max(periods) + term.get("signal", 0)) + 50, term.get("bars", 0) + 2)
    return min(longest, 1000)


# --- closes of stored bars ----------------------------------------------------------------------


class CloseBook:
    """Closes of stored bars by (timeframe, open time), every coin's in one array: one query per
    timeframe and bar, kept; bars announced closed are recorded without asking the database."""

    def __init__(self, coin_ids: np.ndarray, source: Callable[[int, int], dict[int, float]] | None = None):
        self.coin_ids = coin_ids
        self.source = source or _stored_closes
        self.entries: OrderedDict[tuple[int, int], tuple[np.ndarray, float]] = OrderedDict()

    def close_at(self, *, tf: np.ndarray, open_time: np.ndarray, coin: np.ndarray) -> np.ndarray:
        """The close of the bar of ``tf`` seconds opened at ``open_time`` of each ``coin`` index."""
        out = np.full(len(coin), np.nan)
        keys = np.column_stack([tf, open_time]).astype(np.int64)
        pairs, which = np.unique(keys, axis=0, return_inverse=True)
        for i, (seconds, opened) in enumerate(pairs.tolist()):
            where = which.ravel() == i
            out[where] = self._closes(seconds, opened)[coin[where]]
        return out

    def record(self, tf: int, open_time: int, closes: dict[int, float]) -> None:
        """Closes of bars just stored, by coin index."""
        array, _ = self._closes(tf, open_time, fetch=False)
        for coin, close in closes.items():
            array[coin] = close

    def _closes(self, tf: int, open_time: int, fetch: bool = True):
        key = (tf, open_time)
        entry = self.entries.get(key)
        stale = entry is not None and time.monotonic() - entry[1] > REFRESH_SECONDS and np.isnan(entry[0]).any()
        if entry is None or (fetch and stale):
            array = np.full(len(self.coin_ids), np.nan) if entry is None else entry[0]
            if fetch:
                for coin_id, close in self.source(tf, open_time).items():
                    index = int(np.searchsorted(self.coin_ids, coin_id))
                    if index < len(self.coin_ids) and self.coin_ids[index] == coin_id:
                        array[index] = close
            entry = (array, time.monotonic() if fetch else 0.0)
            self.entries[key] = entry
            while len(self.entries) > BOOK_SIZE:
                self.entries.popitem(last=False)
        return entry[0] if fetch else entry


def _stored_closes(tf: int, open_time: int) -> dict[int, float]:
    opened = datetime.fromtimestamp(open_time, UTC)
    rows = Candle.objects.filter(timeframe=TIMEFRAME_NAMES[tf], open_time=opened).values_list("coin_id", "close")
    return dict(rows)
