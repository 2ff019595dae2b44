"""Writes of market data: seeding coins, back-filling candles, the feed's flushes, retention.

Switching the stored data from one source to another is in ``markets.source_switch``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME, bars_rollup
from markets.models import Candle, Coin
from markets.selectors import coin_profiles, last_bars_for
from markets.sources.base import CoinProfile, Listing, MarketSource
from markets.timeframes import TIMEFRAME_SECONDS, bucket_start
from markets.universe import seed_profiles

logger = logging.getLogger(__name__)

# Which stored timeframe each derived one is rolled up from.
ROLLUPS = {"5m": "1m", "15m": "1m", "1h": "1m", "4h": "1h", "1d": "1h"}
OHLCV = ("open", "high", "low", "close", "volume")


def coins_seed(*, profiles: list[CoinProfile] | None = None) -> int:
    """Create the coins of the seed file (or ``profiles``) that do not exist yet; return how many."""
    profiles = list(profiles or seed_profiles())
    existing = set(Coin.objects.values_list("symbol", flat=True))
    now = timezone.now()
    new = [coin_seeded(p, now) for p in profiles if p.symbol not in existing]
    Coin.objects.bulk_create(new)
    return len(new)


def coin_seeded(profile: CoinProfile, now: datetime) -> Coin:
    """A listed coin as the simulation starts it: the seed profile's rank and figures."""
    p = profile
    return Coin(
        symbol=p.symbol,
        name=p.name,
        rank=p.rank,
        price=p.price,
        change_24h=0.0,
        volume_24h=p.volume_24h,
        high_24h=p.price,
        low_24h=p.price,
        circulating_supply=p.circulating_supply,
        market_cap=p.price * p.circulating_supply if p.circulating_supply else None,
        is_active=True,
        updated_at=now,
    )


def coins_sync(*, listings: list[Listing], top_n: int) -> tuple[set[str], set[str]]:
    """Track the exchange's ``top_n`` coins by 24h quote volume plus every pinned coin; return (added, dropped).

    New coins are created, coins no longer tracked (delisted, or fallen well out of the top) are
    marked inactive and keep their candles. A tracked coin stays until it falls below rank
    ``top_n`` + 10 %, so that coins near the boundary do not come and go at every refresh.
    """
    if not listings:  # an exchange that lists nothing is failing, not delisting everything
        logger.warning("The exchange listed no coins; keeping the tracked ones")
        return set(), set()
    ranked = sorted(listings, key=lambda item: item.volume24h, reverse=True)
    rank = {item.symbol: position for position, item in enumerate(ranked, 1)}
    coins = {c.symbol: c for c in Coin.objects.all()}
    active = {s for s, c in coins.items() if c.is_active}
    keep_within = top_n + max(1, top_n // 10)
    tracked = {
        s: r
        for s, r in rank.items()
        if r <= top_n or (s in coins and coins[s].is_pinned) or (s in active and r <= keep_within)
    }
    by_symbol = {item.symbol: item for item in ranked}
    now = timezone.now()
    with transaction.atomic():
        Coin.objects.bulk_create([_coin_listed(by_symbol[s], r, now) for s, r in tracked.items() if s not in coins])
        changed = [c for s, c in coins.items() if s in tracked and (c.rank != tracked[s] or not c.is_active)]
        for coin in changed:
            coin.rank, coin.is_active = tracked[coin.symbol], True
        Coin.objects.bulk_update(changed, ["rank", "is_active"])
        Coin.objects.filter(is_active=True).exclude(symbol__in=tracked).update(is_active=False)
    return set(tracked) - active, active - set(tracked)


def _coin_listed(listing: Listing, rank: int, now) -> Coin:
    """A coin the exchange lists, named and sized from the seed file where it knows the coin."""
    known = {p.symbol: p for p in seed_profiles()}.get(listing.symbol)
    supply = known.circulating_supply if known else None
    return Coin(
        symbol=listing.symbol,
        name=known.name if known else listing.symbol,
        rank=rank,
        price=listing.price,
        change_24h=listing.change24h,
        volume_24h=listing.volume24h,
        high_24h=listing.high24h,
        low_24h=listing.low24h,
        circulating_supply=supply,
        market_cap=listing.price * supply if supply else None,
        updated_at=now,
    )


def history_extend(*, source: MarketSource, until: int | None = None, symbols: list[str] | None = None) -> int:
    """Back-fill every active coin's candles (or those of ``symbols``) from its last stored 1m bar
    (or from scratch) to ``until``.

    Closed bars of every timeframe are stored; the bucket still forming at ``until`` is left
    to the feed. Returns the number of bars written.
    """
    until = int(until if until is not None else timezone.now().timestamp())
    until -= until % 60
    coins = coin_profiles()
    if symbols is not None:
        wanted = set(symbols)
        coins = [c for c in coins if c.symbol in wanted]
    last = last_bars_for(symbols=[c.symbol for c in coins])
    generated = source.history(coins=coins, last_bars=last, until=until)
    starts = {s: (bar.time + 60 if bar else 0) for s, bar in last.items()}
    bars = _with_rollups(generated, starts, until)
    return candles_store(bars=bars)


def _with_rollups(generated: dict[str, dict[str, np.ndarray]], starts: dict[str, int], until: int) -> dict:
    """Add the higher timeframes, rolled up from the new bars and the stored bars they complete.

    A bar the source gave for a timeframe wins over the one rolled up for the same open time.
    """
    out = {tf: dict(per_symbol) for tf, per_symbol in generated.items()}
    for timeframe, lower in ROLLUPS.items():
        seconds = TIMEFRAME_SECONDS[timeframe]
        news = out.get(lower, {})
        ranges = {symbol: (bucket_start(starts[symbol], seconds), starts[symbol]) for symbol in news}
        stored = _candles_in_ranges(timeframe=lower, ranges=ranges)
        for symbol, new_lower in list(news.items()):
            rolled = bars_rollup(_sorted(np.concatenate([stored[symbol], new_lower])), seconds)
            # Only buckets the lower bars cover to their end: the forming bucket is the feed's.
            covered = min(until, new_lower[:, TIME].max() + TIMEFRAME_SECONDS[lower]) if len(new_lower) else until
            rolled = rolled[rolled[:, TIME] + seconds <= covered]
            known = out.setdefault(timeframe, {}).get(symbol)
            if known is not None:
                rolled = _sorted(np.concatenate([known, rolled[~np.isin(rolled[:, TIME], known[:, TIME])]]))
            out[timeframe][symbol] = rolled
    return out


def _sorted(bars: np.ndarray) -> np.ndarray:
    return bars[np.argsort(bars[:, TIME], kind="stable")]


def candles_array(*, symbol: str, timeframe: str, start: int, end: int) -> np.ndarray:
    """Stored bars of one coin in [start, end) as a bar array."""
    if end <= start:
        return np.empty((0, 6))
    rows = Candle.objects.filter(
        coin__symbol=symbol,
        timeframe=timeframe,
        open_time__gte=datetime.fromtimestamp(start, UTC),
        open_time__lt=datetime.fromtimestamp(end, UTC),
    ).order_by("open_time")
    values = [(r.open_time.timestamp(), r.open, r.high, r.low, r.close, r.volume) for r in rows]
    return np.array(values, dtype=float).reshape(-1, 6)


def _candles_in_ranges(*, timeframe: str, ranges: dict[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """Stored bars of several coins, each in its own [start, end), in one query: a gap fill reads
    the forming buckets of every coin and timeframe, and a query each cost 2 s for 130 coins."""
    out = {symbol: np.empty((0, 6)) for symbol in ranges}
    wanted = {symbol: (start, end) for symbol, (start, end) in ranges.items() if end > start}
    if not wanted:
        return out
    rows = Candle.objects.filter(
        coin__symbol__in=wanted,
        timeframe=timeframe,
        open_time__gte=datetime.fromtimestamp(min(start for start, _ in wanted.values()), UTC),
        open_time__lt=datetime.fromtimestamp(max(end for _, end in wanted.values()), UTC),
    ).order_by("open_time")
    grouped: dict[str, list] = {}
    for symbol, open_time, *ohlcv in rows.values_list("coin__symbol", "open_time", *OHLCV):
        start, end = wanted[symbol]
        if start <= open_time.timestamp() < end:
            grouped.setdefault(symbol, []).append((open_time.timestamp(), *ohlcv))
    return out | {symbol: np.array(bars, dtype=float) for symbol, bars in grouped.items()}


def candles_store(*, bars: dict[str, dict[str, np.ndarray]]) -> int:
    """Insert or update bars given as {timeframe: {symbol: bar array}}; return how many."""
    coin_ids = dict(Coin.objects.values_list("symbol", "id"))
    rows = [
        (coin_ids[symbol], timeframe, int(b[TIME]), b[OPEN], b[HIGH], b[LOW], b[CLOSE], b[VOLUME])
        for timeframe, per_symbol in bars.items()
        for symbol, array in per_symbol.items()
        for b in array.tolist()
    ]
    _candles_upsert(rows)
    return len(rows)


UPSERT_BATCH = 500
CANDLE_COLUMNS = ("coin_id", "timeframe", "open_time", "open", "high", "low", "close", "volume")


def _candles_upsert(rows: list[tuple]) -> None:
    """Insert or update (coin_id, timeframe, open epoch seconds, o, h, l, c, v) rows in batches.

    Plain multi-row INSERT ... ON CONFLICT (PostgreSQL and SQLite alike): building a model
    instance per bar costs ten times more than writing it, and the back-fill writes a million.
    """
    adapt = connection.ops.adapt_datetimefield_value
    table = connection.ops.quote_name(Candle._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in CANDLE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in map(connection.ops.quote_name, CANDLE_COLUMNS[3:]))
    row_sql = "(" + ", ".join(["%s"] * len(CANDLE_COLUMNS)) + ")"
    with transaction.atomic(), connection.cursor() as cursor:
        for i in range(0, len(rows), UPSERT_BATCH):
            batch = rows[i : i + UPSERT_BATCH]
            params = [
                value
                for coin_id, timeframe, ts, *ohlcv in batch
                for value in (coin_id, timeframe, adapt(datetime.fromtimestamp(ts, UTC)), *ohlcv)
            ]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(batch))} "
                f"ON CONFLICT (coin_id, timeframe, open_time) DO UPDATE SET {updates}",
                params,
            )


SNAPSHOT_COLUMNS = ("price", "change_24h", "volume_24h", "high_24h", "low_24h", "market_cap", "updated_at")


def market_flush(*, tickers: dict[str, dict], closed: list[tuple[str, str, dict]]) -> None:
    """Store the latest tickers on their coins and the bars that closed: the feed's bulk write.

    One UPDATE ... FROM (VALUES ...) for all the coins (PostgreSQL and SQLite alike), not
    bulk_update, whose CASE WHEN per field and coin costs tens of milliseconds of CPU every
    second, nor one UPDATE per coin, which is a round trip each (2,000 a second from Binance).
    """
    # Bars also close for coins that stopped ticking (close_due): they have no ticker here.
    symbols = {*tickers, *(symbol for symbol, _, _ in closed)}
    coins = Coin.objects.filter(symbol__in=symbols).values_list("symbol", "id", "circulating_supply")
    rows, ids = [], {}
    for symbol, coin_id, supply in coins:
        ids[symbol] = coin_id
        if (t := tickers.get(symbol)) is None:
            continue
        cap = t["price"] * supply if supply else None
        rows.append((coin_id, t["price"], t["change24h"], t["volume24h"], t["high24h"], t["low24h"], cap))
    with transaction.atomic(), connection.cursor() as cursor:
        _coins_update(cursor, rows)
        _candles_upsert(
            [
                (ids[symbol], timeframe, bar["time"], bar["open"], bar["high"], bar["low"], bar["close"], bar["volume"])
                for symbol, timeframe, bar in closed
                if symbol in ids
            ]
        )


def _coins_update(cursor, rows: list[tuple]) -> None:
    """Set the SNAPSHOT_COLUMNS of coins from (id, price, change, volume, high, low, cap) rows, now."""
    table = connection.ops.quote_name(Coin._meta.db_table)
    # VALUES columns are column1, column2, ... in both databases; CAST because a column of NULLs
    # (no market cap) would otherwise be text in PostgreSQL.
    assignments = [
        f"{connection.ops.quote_name(c)} = CAST(v.column{i} AS double precision)"
        for i, c in enumerate(SNAPSHOT_COLUMNS[:-1], start=2)
    ]
    assignments.append(f"{connection.ops.quote_name(SNAPSHOT_COLUMNS[-1])} = %s")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    for i in range(0, len(rows), UPSERT_BATCH):
        batch = rows[i : i + UPSERT_BATCH]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(batch))
        cursor.execute(
            f"UPDATE {table} SET {', '.join(assignments)} FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
            [now, *(value for row in batch for value in row)],
        )


def candles_prune(*, keep_days_1m: int) -> int:
    """Delete 1m bars older than ``keep_days_1m`` days (higher timeframes are kept); return how many."""
    cutoff = timezone.now() - timedelta(days=keep_days_1m)
    deleted, _ = Candle.objects.filter(timeframe="1m", open_time__lt=cutoff).delete()
    return deleted
