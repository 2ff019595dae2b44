"""What the engine's tests share: alerts made through the condition contract, batches, stored bars."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from alerts.conditions import condition_clean
from alerts.models import Alert
from markets.events import BarsClosed, ClosedBarRow, PriceBatch
from markets.models import Candle

T0 = 1_796_601_600  # 2026-12-07 00:00:00 UTC: a day's, hour's and minute's open
MS = 1000


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-123456789")


def alert_make(user, coin, condition: dict, **fields) -> Alert:
    """An active alert as the API stores it (the condition cleaned, defaults filled in)."""
    clean = condition_clean(condition)
    return Alert.objects.create(user=user, coin=coin, kind=clean["kind"], condition=clean, **fields)


def prices(*rows: tuple[str, float, float, float]) -> PriceBatch:
    """A batch of (symbol, previous, price, exchange time in epoch seconds) rows, in order."""
    return PriceBatch(
        symbols=[r[0] for r in rows],
        previous=[float(r[1]) for r in rows],
        prices=[float(r[2]) for r in rows],
        ts=[round(r[3] * MS) for r in rows],
    )


def bars_store(coin, closes, *, timeframe: str = "1m", start: int = T0, volumes=None, seconds: int = 60) -> np.ndarray:
    """Stored closed bars with these closes (open = previous close), oldest first; returns them as an array."""
    closes = np.asarray(closes, dtype=float)
    volumes = np.ones(len(closes)) if volumes is None else np.asarray(volumes, dtype=float)
    opens = np.r_[closes[0], closes[:-1]]
    rows = np.column_stack(
        [
            start + seconds * np.arange(len(closes)),
            opens,
            np.maximum(opens, closes),
            np.minimum(opens, closes),
            closes,
            volumes,
        ]
    )
    Candle.objects.bulk_create(
        Candle(
            coin=coin,
            timeframe=timeframe,
            open_time=datetime.fromtimestamp(int(r[0]), UTC),
            open=r[1],
            high=r[2],
            low=r[3],
            close=r[4],
            volume=r[5],
        )
        for r in rows
    )
    return rows


def closed(symbol: str, bar: np.ndarray, timeframe: str = "1m") -> BarsClosed:
    """The event announcing ``bar`` (a row of bars_store) closed."""
    return BarsClosed([ClosedBarRow(symbol, timeframe, int(bar[0]), *map(float, bar[1:]))])
