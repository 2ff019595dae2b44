"""Switching the stored market data to another source: the old source's candles replaced by the new
one's back-fill, and only the coins it lists listed, in a way a failed or interrupted switch redoes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from markets.models import Candle, Coin, MarketDataOrigin
from markets.services import coin_seeded, coins_sync, history_extend
from markets.sources.base import Listing, MarketSource, SourceUnavailable
from markets.universe import seed_profiles

logger = logging.getLogger(__name__)

# What the cache holds of the market data, for every process that shares it: the feed's snapshot and
# heartbeat, closed bars, API responses, analyses, the simulation's trades.
MARKET_CACHE_PATTERNS = ("market:*", "feed:*", "api:*", "analysis*", "sim:*")
# A coin's figures that are its source's market data, replaced when the source changes.
LISTING_FIGURES = ["price", "change_24h", "volume_24h", "high_24h", "low_24h", "market_cap", "updated_at"]
SEED_FIGURES = [*LISTING_FIGURES, "name", "rank", "circulating_supply", "is_active"]


@dataclass(frozen=True, slots=True)
class SourceSwitch:
    """What a switch of the stored market data to ``source`` replaced (``previous``: "" when unrecorded)."""

    previous: str
    source: str
    started_at: datetime
    deleted: int
    listed: int
    unlisted: int

    def summary(self, *, backfilled: int) -> str:
        """The switch in one line of log."""
        if self.previous == self.source:
            what = f"Market data switch to {self.source} finished after an interrupted one"
        else:
            what = f"Market data switched from {self.previous or 'an unrecorded source'} to {self.source}"
        return (
            f"{what}: {self.deleted:,} stored candles replaced by {backfilled:,} back-filled; "
            f"{self.listed} coins listed, {self.unlisted} unlisted (kept, hidden from lists)"
        )


def market_data_switch(
    *, source: MarketSource, listings: list[Listing] | None, top_n: int, until: int | None = None
) -> int | None:
    """Make the stored market data ``source``'s if it came from another source (or a switch to it did
    not finish): its candles replaced by ``source``'s back-fill, its coins listed as ``source`` lists
    them (``listings``, or the seed file's for a fixed universe), and one line of log.

    Returns the bars back-filled; None when the data is ``source``'s already (nothing done).
    """
    switch = _switch_begin(source=source.name, listings=listings, top_n=top_n)
    if switch is None:
        return None
    backfilled = history_extend(source=source, until=until)
    # Only now is the data whole: a start before this line (a failed back-fill) does it all again.
    MarketDataOrigin.objects.filter(source=switch.source, started_at=switch.started_at).update(
        backfilled_at=timezone.now()
    )
    logger.warning(switch.summary(backfilled=backfilled))
    return backfilled


def _switch_begin(*, source: str, listings: list[Listing] | None, top_n: int) -> SourceSwitch | None:
    """Delete the other source's candles and list ``source``'s coins in one transaction; None when the
    data is ``source``'s. A new database records ``source`` as its own."""
    if listings is not None and not listings:  # an exchange that lists nothing is failing
        raise SourceUnavailable(f"{source} listed no coins; the stored market data is kept")
    now = timezone.now()
    with transaction.atomic():
        origin, new = MarketDataOrigin.objects.select_for_update().get_or_create(
            pk=MarketDataOrigin.SINGLETON, defaults={"source": source, "started_at": now, "backfilled_at": now}
        )
        if new or (origin.source == source and origin.backfilled_at is not None):
            return None
        was_listed = set(Coin.objects.filter(is_active=True).values_list("symbol", flat=True))
        deleted, _ = Candle.objects.all().delete()
        listed = _coins_relist(listings=listings, top_n=top_n, now=now)
        previous = origin.source
        origin.source, origin.started_at, origin.backfilled_at = source, now, None
        origin.save()
        transaction.on_commit(_market_caches_clear)
    return SourceSwitch(previous, source, now, deleted, len(listed), len(was_listed - listed))


def _coins_relist(*, listings: list[Listing] | None, top_n: int, now: datetime) -> set[str]:
    """List the coins the new source lists, with its figures, and no other; return their symbols."""
    Coin.objects.filter(is_active=True).update(is_active=False)
    if listings is None:
        return _coins_list_seed(now=now)
    coins_sync(listings=listings, top_n=top_n)  # nothing is listed now: the top N (and pinned), afresh
    return _coins_list_figures(listings=listings, now=now)


def _coins_list_seed(*, now: datetime) -> set[str]:
    """The simulation's universe: the seed file's coins, listed with its figures (created where missing)."""
    seeded = [coin_seeded(p, now) for p in seed_profiles()]
    Coin.objects.bulk_create(seeded, update_conflicts=True, unique_fields=["symbol"], update_fields=SEED_FIGURES)
    return {c.symbol for c in seeded}


def _coins_list_figures(*, listings: list[Listing], now: datetime) -> set[str]:
    """Give the listed coins the exchange's 24h figures; return their symbols."""
    listed = list(Coin.objects.filter(is_active=True))
    by_symbol = {item.symbol: item for item in listings}
    for coin in listed:
        item = by_symbol[coin.symbol]
        coin.price, coin.change_24h, coin.volume_24h = item.price, item.change24h, item.volume24h
        coin.high_24h, coin.low_24h, coin.updated_at = item.high24h, item.low24h, now
        coin.market_cap = item.price * coin.circulating_supply if coin.circulating_supply else None
    Coin.objects.bulk_update(listed, LISTING_FIGURES)
    return {c.symbol for c in listed}


def _market_caches_clear() -> None:
    """Forget what the cache holds of the old source's data (snapshot, closed bars, responses)."""
    if hasattr(cache, "delete_pattern"):  # Redis: shared by every process, and with keys not the market's
        for pattern in MARKET_CACHE_PATTERNS:
            cache.delete_pattern(pattern)
    else:  # local memory: this process's own
        cache.clear()
