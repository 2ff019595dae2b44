"""Reads of market data for pages, the API, the feed and (later) the assistant's tools."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, OuterRef, QuerySet, Subquery

from markets import snapshot
from markets.models import Candle, Coin, MarketDataOrigin
from markets.sources import market_source
from markets.sources.base import CoinProfile, LastBar
from markets.timeframes import TIMEFRAME_SECONDS
from markets.universe import profile_of
from scalpaiboard.cache import cache_unreachable

SYMBOLS_KEY = "market:symbols"


def coin_queryset() -> QuerySet[Coin]:
    """Active coins, by rank: what lists and filters start from."""
    return Coin.objects.filter(is_active=True)


def coin_get(*, symbol: str) -> Coin:
    """The coin named ``symbol`` (any case), listed or not; raises Coin.DoesNotExist."""
    if "\x00" in symbol:  # no coin's; and PostgreSQL refuses NUL in a query (ValueError)
        raise Coin.DoesNotExist(f"No coin is named {symbol!r}.")
    return Coin.objects.get(symbol=symbol.upper())


def coin_symbols() -> frozenset[str]:
    """Symbols of all active coins, cached for a minute (the WebSocket validates against it)."""
    symbols = cache.get(SYMBOLS_KEY)
    if symbols is None:
        symbols = frozenset(coin_queryset().values_list("symbol", flat=True))
        cache.set(SYMBOLS_KEY, symbols, timeout=60)
    return symbols


def coin_profiles() -> list[CoinProfile]:
    """Active coins as source profiles, by rank."""
    return [
        profile_of(
            symbol=c.symbol,
            name=c.name,
            rank=c.rank,
            price=c.price,
            volume_24h=c.volume_24h,
            supply=c.circulating_supply,
        )
        for c in coin_queryset()
    ]


def market_overview(*, size: int = 5) -> dict[str, list[Coin]]:
    """Top gainers, top losers and top volume among active coins."""
    coins = coin_queryset().only("symbol", "name", "price", "change_24h", "volume_24h")
    return {
        "gainers": list(coins.order_by("-change_24h")[:size]),
        "losers": list(coins.order_by("change_24h")[:size]),
        "volume": list(coins.order_by("-volume_24h")[:size]),
    }


def last_bars_for(*, symbols: list[str]) -> dict[str, LastBar | None]:
    """Each coin's last stored 1m bar (None when it has none), in one query."""
    latest = Candle.objects.filter(coin=OuterRef("pk"), timeframe="1m").order_by("-open_time")
    rows = Coin.objects.filter(symbol__in=symbols).annotate(
        last_time=Subquery(latest.values("open_time")[:1]), last_close=Subquery(latest.values("close")[:1])
    )
    return {
        c.symbol: LastBar(int(c.last_time.timestamp()), c.last_close) if c.last_time else None
        for c in rows.only("symbol")
    }


def recent_1m(*, since: int, until: int | None = None, symbols: list[str] | None = None) -> dict[str, np.ndarray]:
    """Stored 1m bars of every coin (or of ``symbols``) opened in [since, until), as bar arrays by symbol."""
    rows = Candle.objects.filter(timeframe="1m", open_time__gte=datetime.fromtimestamp(since, UTC))
    if until is not None:
        rows = rows.filter(open_time__lt=datetime.fromtimestamp(until, UTC))
    if symbols is not None:
        rows = rows.filter(coin__symbol__in=symbols)
    rows = rows.order_by("coin_id", "open_time").values_list(
        "coin__symbol", "open_time", "open", "high", "low", "close", "volume"
    )
    grouped: dict[str, list] = {}
    for symbol, open_time, *ohlcv in rows.iterator(chunk_size=10000):
        grouped.setdefault(symbol, []).append((open_time.timestamp(), *ohlcv))
    return {s: np.array(v, dtype=float) for s, v in grouped.items()}


def candles_for(
    *, coin: Coin, timeframe: str, limit: int, start: datetime | None = None, end: datetime | None = None
) -> list[dict]:
    """Up to ``limit`` bars, oldest first, ending with the forming bar when it is in range.

    Closed bars are cached until the feed opens the next bar (the feed stores a closed bar
    before it names the new forming one), so a chart's history is read once per bar.
    """
    forming = ((snapshot.ticker_get(coin.symbol) or {}).get("bars") or {}).get(timeframe)
    opened = forming["time"] if forming else None
    if forming and ((start and opened < start.timestamp()) or (end and opened > end.timestamp())):
        forming = None
    count = limit - (forming is not None)
    key = f"market:candles:{coin.pk}:{timeframe}:{count}:{_epoch(start)}:{_epoch(end)}:{opened}"
    bars = cache.get(key)
    if bars is None:
        bars = _closed_bars(coin, timeframe, count, start, end)
        cache.set(key, bars, timeout=min(TIMEFRAME_SECONDS[timeframe], 3600))
    if forming is not None and (not bars or forming["time"] > bars[-1]["time"]):
        return [*bars, forming][-limit:]
    return bars[-limit:] if limit else []


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _closed_bars(coin: Coin, timeframe: str, count: int, start: datetime | None, end: datetime | None) -> list[dict]:
    rows = Candle.objects.filter(coin=coin, timeframe=timeframe)
    if start is not None:
        rows = rows.filter(open_time__gte=start)
    if end is not None:
        rows = rows.filter(open_time__lte=end)
    newest_first = rows.order_by("-open_time").values_list("open_time", "open", "high", "low", "close", "volume")
    return (
        [
            {"time": int(t.timestamp()), "open": o, "high": h, "low": lo, "close": c, "volume": v}
            for t, o, h, lo, c, v in reversed(newest_first[:count])
        ]
        if count
        else []
    )


def market_data_origin() -> dict:
    """Where the stored market data came from: {"source": name (None before the first start or when
    unrecorded), "since": when it replaced the last, "backfilled": False while a switch is unfinished}."""
    origin = MarketDataOrigin.objects.filter(pk=MarketDataOrigin.SINGLETON).first()
    if origin is None:
        return {"source": None, "since": None, "backfilled": False}
    return {"source": origin.source or None, "since": origin.started_at, "backfilled": origin.backfilled_at is not None}


def feed_status(*, now: float | None = None) -> dict:
    """How current the market data is: "ok", "delayed" (the newest exchange update lags the clock by
    more than FEED_DELAY_SECONDS), "stale" (the feed stopped writing) or "down" (it never wrote).

    The feed's heartbeat is in the cache; while Redis is unreachable, the database tells when the
    feed last wrote the coins' figures instead, and ``heartbeat`` says which one told.
    """
    beat = snapshot.heartbeat_get()
    if beat is None and cache_unreachable():
        beat = _heartbeat_from_database()
    if beat is None:
        return {"status": "down", "error": "no tick received yet", "seconds_since_last_tick": None}
    now = time.time() if now is None else now
    age = round(now - beat["received"], 1)
    delay = round(max(0.0, now - beat["ts"] / 1000), 1)
    if age > settings.FEED_STALE_SECONDS:
        status = "stale"
    elif delay > settings.FEED_DELAY_SECONDS:
        status = "delayed"
    else:
        status = "ok"
    return {
        "status": status,
        "seconds_since_last_tick": age,
        "delay_seconds": delay,
        "last_tick_ts": beat["ts"],
        "heartbeat": beat.get("from", "cache"),
    }


def _heartbeat_from_database() -> dict | None:
    """The heartbeat as the database knows it: when the coins' figures were last written, which also
    stands for the exchange's time (so the delay is a lower bound), or None if no coin is listed."""
    newest = coin_queryset().aggregate(newest=Max("updated_at"))["newest"]
    if newest is None:
        return None
    return {"ts": int(newest.timestamp() * 1000), "received": newest.timestamp(), "from": "database"}


def orderbook_for(*, symbol: str, depth: int) -> dict:
    """The coin's order book from its source, cached for a second."""
    key = f"market:book:{symbol}:{depth}"
    book = cache.get(key)
    if book is None:
        book = market_source().order_book(symbol, depth).as_dict()
        cache.set(key, book, timeout=1)
    return book


def trades_for(*, symbol: str, limit: int) -> list[dict]:
    """The coin's latest trades from its source, newest first, cached for a second."""
    key = f"market:trades:{symbol}:{limit}"
    trades = cache.get(key)
    if trades is None:
        trades = [t.as_dict() for t in market_source().recent_trades(symbol, limit)]
        cache.set(key, trades, timeout=1)
    return trades
