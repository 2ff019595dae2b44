"""Which coins Binance trades against USDT, from exchangeInfo and the 24h tickers.

A coin is named by its base asset (``BTC`` for the pair ``BTCUSDT``). Only pairs that are
``TRADING`` count; the choice of the top N by volume is the markets service's (``coins_sync``).
"""

from __future__ import annotations

import re

from markets.sources.base import Listing

QUOTE = "USDT"
# Base assets the project can name in URLs, stream names and its symbol column (20 characters).
SYMBOL_PATTERN = re.compile(r"[A-Z0-9]{1,20}")


def pair_of(symbol: str) -> str:
    """Binance's symbol for a coin: ``BTC`` -> ``BTCUSDT``."""
    return f"{symbol}{QUOTE}"


def trading_pairs(exchange_info: dict) -> dict[str, str]:
    """{pair: coin symbol} of every USDT pair that is TRADING."""
    pairs = {}
    for entry in exchange_info.get("symbols", []):
        base = entry.get("baseAsset", "")
        if entry.get("quoteAsset") == QUOTE and entry.get("status") == "TRADING" and SYMBOL_PATTERN.fullmatch(base):
            pairs[entry["symbol"]] = base
    return pairs


def listings_from(*, exchange_info: dict, tickers: list[dict]) -> list[Listing]:
    """The trading USDT pairs with their 24h figures, busiest first."""
    pairs = trading_pairs(exchange_info)
    listings = []
    for ticker in tickers:
        symbol = pairs.get(ticker.get("symbol"))
        if symbol is None:
            continue
        try:
            listings.append(_listing(symbol, ticker))
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            continue  # a malformed ticker: the coin is listed again at the next refresh
    return sorted(listings, key=lambda item: item.volume24h, reverse=True)


def _listing(symbol: str, ticker: dict) -> Listing:
    price, opened = float(ticker["lastPrice"]), float(ticker["openPrice"])
    return Listing(
        symbol=symbol,
        price=price,
        change24h=(price / opened - 1.0) * 100.0 if opened else 0.0,
        volume24h=float(ticker["quoteVolume"]),
        high24h=float(ticker["highPrice"]),
        low24h=float(ticker["lowPrice"]),
    )
