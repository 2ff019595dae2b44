"""Candle timeframes and their UTC-aligned buckets (the same alignment Binance uses)."""

from __future__ import annotations

from django.db import models


class Timeframe(models.TextChoices):
    M1 = "1m", "1 minute"
    M5 = "5m", "5 minutes"
    M15 = "15m", "15 minutes"
    H1 = "1h", "1 hour"
    H4 = "4h", "4 hours"
    D1 = "1d", "1 day"

    @property
    def seconds(self) -> int:
        return TIMEFRAME_SECONDS[self.value]

    def bucket(self, ts: float) -> int:
        """Open time (epoch seconds) of the bar that contains ``ts`` (epoch seconds)."""
        return bucket_start(ts, TIMEFRAME_SECONDS[self.value])


TIMEFRAME_SECONDS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400}
TIMEFRAMES = [Timeframe(value) for value in TIMEFRAME_SECONDS]


def bucket_start(ts: float, seconds: int) -> int:
    """Start of the ``seconds``-long bucket containing ``ts``, aligned to the Unix epoch."""
    whole = int(ts)
    return whole - whole % seconds
