"""The coins the simulated market starts with (markets/data/coins.json) and their profiles."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from markets.sources.base import CoinProfile

SEED_FILE = Path(__file__).parent / "data" / "coins.json"


@cache
def seed_profiles() -> tuple[CoinProfile, ...]:
    """The 130 coins of the seed file, by rank."""
    return tuple(CoinProfile(**row) for row in json.loads(SEED_FILE.read_text()))


def profile_of(
    *, symbol: str, name: str, rank: int, price: float, volume_24h: float, supply: float | None
) -> CoinProfile:
    """A coin's profile: the seed file's volatility and beta where it has them, typical values otherwise."""
    known = {p.symbol: p for p in seed_profiles()}.get(symbol)
    return CoinProfile(
        symbol=symbol,
        name=name,
        rank=rank,
        price=price,
        volume_24h=volume_24h,
        circulating_supply=supply,
        daily_volatility=known.daily_volatility if known else 0.06,
        beta=known.beta if known else 1.2,
    )
