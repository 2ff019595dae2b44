"""Which coins are tracked with MARKET_SOURCE=binance: the top N USDT pairs by volume, plus pinned coins."""

from __future__ import annotations

import pytest

from markets.models import Candle, Coin
from markets.services import coins_sync
from markets.sources.binance import BinanceSource
from markets.tests.binance_imitation import BinanceImitation, ImitatedSymbol, imitation_running, seed_symbols

pytestmark = pytest.mark.django_db

# BTC, ETH, SOL, XRP, BNB, DOGE by the seed file's volumes, plus a BTC-quoted pair and a halted one.
SYMBOLS = [
    *seed_symbols(6),
    ImitatedSymbol("ETH", 0.034, 5e10, quote="BTC"),
    ImitatedSymbol("LUNA", 0.5, 9e10, status="BREAK"),
]


@pytest.fixture
def binance():
    with imitation_running(BinanceImitation(SYMBOLS)) as imitation:
        yield imitation


@pytest.fixture
def source(binance) -> BinanceSource:
    return BinanceSource(rest_url=binance.rest_url, ws_url=binance.ws_url)


def sync(source: BinanceSource, top_n: int = 3) -> tuple[set[str], set[str]]:
    return coins_sync(listings=source.listings(), top_n=top_n)


def active() -> list[str]:
    return list(Coin.objects.filter(is_active=True).order_by("rank").values_list("symbol", flat=True))


def by_volume(binance: BinanceImitation) -> list[str]:
    usdt = [s for s in binance.symbols.values() if s.quote == "USDT" and s.status == "TRADING"]
    return [s.base for s in sorted(usdt, key=lambda s: s.quote_volume, reverse=True)]


def test_listings_are_the_trading_usdt_pairs_busiest_first(source, binance):
    listings = source.listings()

    assert [item.symbol for item in listings] == by_volume(binance)  # no ETHBTC, no halted LUNA
    btc = listings[0]
    assert btc.volume24h == binance.symbols["BTCUSDT"].quote_volume
    assert btc.low24h <= btc.price <= btc.high24h


def test_the_top_n_by_24h_quote_volume_are_tracked(source, binance):
    added, dropped = sync(source, top_n=3)

    assert active() == by_volume(binance)[:3]
    assert added == set(by_volume(binance)[:3]) and dropped == set()
    assert Coin.objects.get(symbol="BTC").name == "Bitcoin"  # named from the seed file where it knows the coin


def test_a_pinned_coin_is_tracked_whatever_its_volume(source, binance):
    quiet = by_volume(binance)[-1]
    Coin.objects.create(symbol=quiet, name=quiet, rank=999_999, price=0.0, is_active=False, is_pinned=True,
                        updated_at=_now())  # fmt: skip

    sync(source, top_n=3)

    assert active() == [*by_volume(binance)[:3], quiet]


def test_a_delisted_coin_is_marked_inactive_and_keeps_its_candles(source, binance):
    sync(source, top_n=3)
    eth = Coin.objects.get(symbol="ETH")
    Candle.objects.create(coin=eth, timeframe="1d", open_time=_now(), open=1, high=1, low=1, close=1, volume=1)
    binance.symbols["ETHUSDT"].status = "BREAK"

    added, dropped = sync(source, top_n=3)

    assert dropped == {"ETH"} and added == {by_volume(binance)[2]}
    eth.refresh_from_db()
    assert not eth.is_active
    assert eth.candles.count() == 1


def test_a_new_listing_appears_at_the_next_refresh(source, binance):
    sync(source, top_n=3)
    binance.list_symbol(ImitatedSymbol("NEWT", 1.25, 8e9))

    assert sync(source, top_n=3) == ({"NEWT"}, set())  # the old third is fourth now: within 10 % it stays

    assert active()[0] == "NEWT"
    assert Coin.objects.get(symbol="NEWT").name == "NEWT"


def test_an_empty_listing_keeps_the_tracked_coins(source):
    sync(source, top_n=3)

    assert coins_sync(listings=[], top_n=3) == (set(), set())
    assert len(active()) == 3


def test_the_universe_follows_volume_changes(source, binance):
    sync(source, top_n=3)
    third = by_volume(binance)[2]
    rising = by_volume(binance)[4]
    binance.symbols[f"{rising}USDT"].quote_volume = 1e12

    assert sync(source, top_n=3) == ({rising}, set())
    binance.symbols[f"{third}USDT"].quote_volume = 1.0
    assert sync(source, top_n=3) == (set(), {third})  # now last: dropped
    assert active() == by_volume(binance)[:3]


def _now():
    from django.utils import timezone

    return timezone.now()
