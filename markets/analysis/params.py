"""Analysis parameters: the defaults, the bounds a request may set them within, a cache key."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

# Inclusive bounds of each adjustable parameter; the API answers 400 naming one outside them.
BOUNDS: dict[str, tuple[float, float]] = {
    "rsi_length": (2, 100),
    "macd_fast": (2, 100),
    "macd_slow": (3, 200),
    "macd_signal": (2, 50),
    "bb_length": (5, 200),
    "bb_std": (0.5, 5.0),
    "sma": (2, 500),
    "ema": (2, 500),
    "atr_length": (2, 100),
    "stoch_k": (2, 100),
    "stoch_d": (2, 20),
    "stoch_smooth": (1, 20),
    "volume_sma": (2, 200),
    "swing_window": (1, 10),
    "level_tolerance": (0.05, 3.0),
}
MAX_MOVING_AVERAGES = 6
HISTORY_BARS = (50, 1000)  # how many closed bars a request may analyse
DEFAULT_BARS = 500


@dataclass(frozen=True)
class AnalysisParams:
    """Indicator lengths, plus how swing levels are found (fractal half-width, cluster tolerance in ATRs)."""

    rsi_length: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bb_length: int = 20
    bb_std: float = 2.0
    sma: tuple[int, ...] = (9, 21, 50, 200)
    ema: tuple[int, ...] = (9, 21, 50, 200)
    atr_length: int = 14
    stoch_k: int = 14
    stoch_d: int = 3
    stoch_smooth: int = 3
    volume_sma: int = 20
    swing_window: int = 2
    level_tolerance: float = 0.5

    def as_dict(self) -> dict:
        return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}

    @property
    def key(self) -> str:
        """A short digest naming these parameters in cache keys."""
        return hashlib.blake2b(repr(self).encode(), digest_size=8).hexdigest()

    @property
    def window(self) -> int:
        """How many closed bars the windowed indicators need to take one more bar."""
        return max(self.bb_length, self.volume_sma, self.stoch_k + self.stoch_smooth, *self.sma, 2)


DEFAULT_PARAMS = AnalysisParams()
