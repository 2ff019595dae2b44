"""A local Binance Spot for the tests and benchmarks: market-data REST and WebSocket streams on 127.0.0.1.

``BinanceImitation`` serves a deterministic market (``market``) on Binance's wire protocol
(``server``); ``imitation_running`` runs it in a thread of its own while a test uses it. Run it
alone with ``python -m markets.tests.binance_imitation --help`` (the benchmarks do).
"""

from markets.tests.binance_imitation.market import ImitatedSymbol, decimal
from markets.tests.binance_imitation.server import BinanceImitation, imitation_running

__all__ = ["BinanceImitation", "ImitatedSymbol", "decimal", "imitation_running", "seed_symbols"]


def seed_symbols(count: int | None = None) -> list[ImitatedSymbol]:
    """Pairs for the seed file's coins (markets/data/coins.json), busiest first, with its prices and volumes."""
    from markets.universe import seed_profiles

    profiles = sorted(seed_profiles(), key=lambda p: p.volume_24h, reverse=True)[:count]
    return [ImitatedSymbol(p.symbol, p.price, p.volume_24h) for p in profiles]
