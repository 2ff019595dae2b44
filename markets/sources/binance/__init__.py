"""Binance Spot as a market source: a direct client on httpx (REST) and websockets (streams).

``rest`` paces every request under Binance's weight limits, ``streams`` keeps the WebSocket
connections alive, ``universe`` reads which coins trade, and ``source`` puts them together.
"""

from markets.sources.binance.source import BinanceSource

__all__ = ["BinanceSource"]
