"""Bars for the analysis tests: a seeded random walk, stored and published the way the feed does."""

from __future__ import annotations

import numpy as np

from markets import snapshot
from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME
from markets.services import candles_store

MIDNIGHT = 1_794_960_000  # Wednesday 2026-11-18 00:00 UTC
NOW = MIDNIGHT + 10 * 3600  # 10:00, the open time of the forming 1h bar in these tests


def random_walk(count: int, *, seed: int = 1, end: int = NOW, seconds: int = 3600, drift: float = 0.0) -> np.ndarray:
    """``count`` closed bars whose last one opens ``seconds`` before ``end``: a bar array, oldest first."""
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(np.cumsum(rng.normal(drift, 0.01, count)))
    opens = np.r_[100.0, closes[:-1]]
    bars = np.empty((count, 6))
    bars[:, TIME] = end - seconds * np.arange(count, 0, -1)
    bars[:, OPEN], bars[:, CLOSE] = opens, closes
    bars[:, HIGH] = np.maximum(opens, closes) * (1 + rng.uniform(0, 0.006, count))
    bars[:, LOW] = np.minimum(opens, closes) * (1 - rng.uniform(0, 0.006, count))
    bars[:, VOLUME] = rng.uniform(50, 150, count)
    return bars


def bars_store(symbol: str, timeframe: str, bars: np.ndarray) -> None:
    candles_store(bars={timeframe: {symbol: bars}})


def forming_publish(symbol: str, bars_by_timeframe: dict[str, dict], *, version: int = 1) -> None:
    """What the feed publishes: the coin's ticker and its forming bar of each timeframe."""
    close = next(iter(bars_by_timeframe.values()))["close"]
    ticker = {"symbol": symbol, "price": close, "change24h": 0.0, "volume24h": 1e9, "high24h": 1, "low24h": 1, "ts": 1}
    snapshot.snapshot_store(tickers={symbol: ticker}, bars={symbol: bars_by_timeframe}, version=version, ts=version)
