"""BinanceSource against the local imitation: back-fill of every timeframe, gap fills, book and trades."""

from __future__ import annotations

import io
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from markets.candles import TIME, VOLUME
from markets.models import Candle, Coin
from markets.services import candles_array, coins_sync, history_extend
from markets.sources import market_source
from markets.sources.base import SourceUnavailable
from markets.sources.binance import BinanceSource
from markets.tests.binance_imitation import BinanceImitation, imitation_running, seed_symbols
from markets.timeframes import TIMEFRAME_SECONDS

ORIGIN = 1_795_000_000 - 1_795_000_000 % 3600 + 47 * 60 + 31  # hh:47:31 UTC: every bucket size is mid-way
PAIRS = {"BTC": "BTCUSDT", "ETH": "ETHUSDT"}


@pytest.fixture
def binance():
    # speed 0: the exchange clock stands still at ORIGIN, so "now" is the same for the source and the test.
    imitation = BinanceImitation(seed_symbols(3), origin=ORIGIN, speed=0.0)
    with imitation_running(imitation):
        yield imitation


@pytest.fixture
def source(binance) -> BinanceSource:
    return BinanceSource(rest_url=binance.rest_url, ws_url=binance.ws_url, workers=4)


@pytest.fixture
def two_coins(db, source):
    listings = [item for item in source.listings() if item.symbol in PAIRS]
    coins_sync(listings=listings, top_n=2)
    return sorted(Coin.objects.values_list("symbol", flat=True))


def stored(symbol: str, timeframe: str) -> np.ndarray:
    return candles_array(symbol=symbol, timeframe=timeframe, start=0, end=4_000_000_000)


def expected(binance: BinanceImitation, symbol: str, timeframe: str, *, until: int, count: int = 1000) -> np.ndarray:
    """The imitation's closed bars before ``until``: the latest ``count`` of them."""
    seconds = TIMEFRAME_SECONDS[timeframe]
    bars = np.array(binance.kline_floats(PAIRS[symbol], timeframe, end=until - 1, limit=count + 1))
    return bars[bars[:, TIME] + seconds <= until][-count:]


def assert_no_gaps(bars: np.ndarray, timeframe: str) -> None:
    steps = np.diff(bars[:, TIME])
    assert set(steps.tolist()) == {TIMEFRAME_SECONDS[timeframe]}, f"{timeframe}: gaps or duplicates"


def assert_same_bars(actual: np.ndarray, wanted: np.ndarray) -> None:
    """Same open times and prices; volumes equal up to float rounding (rolled-up bars add them)."""
    assert actual[:, :VOLUME].tolist() == wanted[:, :VOLUME].tolist()
    assert actual[:, VOLUME] == pytest.approx(wanted[:, VOLUME], rel=1e-12)


# --- back-fill ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_backfill_stores_exactly_the_klines_binance_holds_for_every_timeframe(binance, source, two_coins):
    written = history_extend(source=source, until=ORIGIN + 3600)  # later than Binance's clock: capped

    until = ORIGIN - ORIGIN % 60
    for symbol in two_coins:
        for timeframe in TIMEFRAME_SECONDS:
            bars = stored(symbol, timeframe)
            assert bars.tolist() == expected(binance, symbol, timeframe, until=until).tolist(), timeframe
            assert_no_gaps(bars, timeframe)
    assert len(stored("BTC", "1m")) == len(stored("BTC", "5m")) == 1000
    assert len(stored("BTC", "1d")) == 30  # all the history the pair has
    assert written == Candle.objects.count()


@pytest.mark.django_db
def test_a_short_gap_is_filled_from_1m_klines_and_rolled_up_exactly(binance, source, two_coins):
    history_extend(source=source, until=ORIGIN)
    cut = ORIGIN - ORIGIN % 3600 - 2 * 3600  # lose the last 2 h 47 min of every timeframe below 4h
    Candle.objects.filter(open_time__gte=_utc(cut), timeframe__in=["1m", "5m", "15m", "1h"]).delete()
    binance.origin = ORIGIN + 95 * 60  # the feed was away for 95 minutes more
    requests = len(binance.requests)

    history_extend(source=source, until=ORIGIN + 95 * 60)

    klines_requests = [r for r in binance.requests[requests:] if r.path == "/api/v3/klines"]
    assert {r.params["interval"] for r in klines_requests} == {"1m"}
    until = (ORIGIN + 95 * 60) // 60 * 60
    for timeframe in TIMEFRAME_SECONDS:
        bars = stored("BTC", timeframe)
        assert_no_gaps(bars, timeframe)
        assert_same_bars(bars, expected(binance, "BTC", timeframe, until=until, count=len(bars)))


@pytest.mark.django_db
def test_a_long_gap_is_filled_at_every_timeframe(binance, source, two_coins):
    history_extend(source=source, until=ORIGIN)
    binance.origin = ORIGIN + 3 * 86400  # three days away: more than one request of 1m bars

    history_extend(source=source, until=ORIGIN + 3 * 86400)

    until = (ORIGIN + 3 * 86400) // 60 * 60
    for timeframe in TIMEFRAME_SECONDS:
        bars = stored("ETH", timeframe)
        assert_no_gaps(bars, timeframe)
        assert bars.tolist() == expected(binance, "ETH", timeframe, until=until, count=len(bars)).tolist()


@pytest.mark.django_db
def test_a_coin_binance_does_not_list_is_skipped_and_the_others_are_filled(binance, source, two_coins, caplog):
    Coin.objects.create(symbol="GONE", name="Gone", rank=3, price=1.0, updated_at=Coin.objects.first().updated_at)

    with caplog.at_level(logging.WARNING, logger="markets.sources.binance.source"):
        history_extend(source=source, until=ORIGIN)

    assert "No 1m klines for GONE: Binance answered 400 (-1121): Invalid symbol." in caplog.text
    assert not Candle.objects.filter(coin__symbol="GONE").exists()
    assert len(stored("BTC", "1m")) == 1000


@pytest.mark.django_db
def test_the_backfill_of_many_coins_stays_under_the_weight_limit():
    imitation = BinanceImitation(seed_symbols(30), origin=ORIGIN, speed=0.0, weight_limit=120, weight_interval="1S")
    with imitation_running(imitation):
        source = BinanceSource(rest_url=imitation.rest_url, ws_url=imitation.ws_url, workers=8)
        coins_sync(listings=source.listings(), top_n=30)
        history_extend(source=source, until=ORIGIN)  # 180 requests, 360 weight: three windows at least

    assert {r.status for r in imitation.requests} == {200}
    assert imitation.max_weight_per_window() <= 120
    assert Candle.objects.filter(timeframe="1m").count() == 30 * 1000


# --- order book and trades ----------------------------------------------------------------------


def test_the_order_book_comes_from_binances_depth(source, binance):
    book = source.order_book("BTC", 10)
    assert len(book.bids) == len(book.asks) == 10
    assert book.bids[0][0] < book.asks[0][0]
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert binance.requests[-1].params == {"symbol": "BTCUSDT", "limit": "10"}
    assert binance.requests[-1].weight == 5


def test_recent_trades_come_newest_first_with_the_takers_side(source, binance):
    trades = source.recent_trades("ETH", 20)
    assert len(trades) == 20
    assert [t.id for t in trades] == sorted((t.id for t in trades), reverse=True)
    assert {t.side for t in trades} == {"buy", "sell"}
    assert binance.requests[-1].weight == 25


def test_a_coin_binance_does_not_list_has_no_book(source):
    with pytest.raises(SourceUnavailable, match="Binance does not list NOPEUSDT"):
        source.order_book("NOPE", 10)


def test_a_page_does_not_wait_out_a_rate_limit_pause(source, binance):
    binance.force(429, retry_after=60)
    with pytest.raises(SourceUnavailable, match="retry in 60 s"):
        source.recent_trades("BTC", 10)
    with pytest.raises(SourceUnavailable, match="rate limit"):
        source.order_book("BTC", 10)
    assert len(binance.requests) == 1


def test_a_429_pauses_the_other_processes_of_the_deployment_too(binance):
    """Two sources with governors of their own, as the feed and a web process have, share the pause."""
    feed, web = (BinanceSource(rest_url=binance.rest_url, ws_url=binance.ws_url) for _ in range(2))
    binance.force(429, retry_after=2)
    with ThreadPoolExecutor(1) as pool:
        refused = pool.submit(feed.rest.server_time)
        while not any(r.status == 429 for r in binance.requests):
            time.sleep(0.01)
        web.rest.server_time()
        refused.result()

    first = binance.requests[0]
    assert first.status == 429
    waits = [r.at - first.at for r in binance.requests[1:]]
    # Both held back for the Retry-After (2 s); the upper bound only leaves room for a busy machine.
    assert len(waits) == 2 and all(1.9 <= wait < 5 for wait in waits), waits


@pytest.mark.django_db
def test_the_api_serves_binances_book_and_refuses_an_unlisted_coin(source, two_coins, monkeypatch):
    monkeypatch.setattr("markets.selectors.market_source", lambda: source)
    Coin.objects.create(symbol="GONE", name="Gone", rank=3, price=1.0, updated_at=Coin.objects.first().updated_at)
    api = APIClient()

    book = api.get("/api/coins/btc/orderbook", {"depth": 5}).json()
    gone = api.get("/api/coins/GONE/trades")

    assert len(book["bids"]) == len(book["asks"]) == 5
    assert gone.status_code == 503
    assert gone.json() == {"detail": "Binance does not list GONEUSDT"}
    assert api.get("/api/coins/NOPE/orderbook").status_code == 404


def _utc(ts: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC)


@pytest.mark.django_db
def test_market_load_tracks_binances_top_coins_and_backfills_them(binance, settings):
    settings.MARKET_SOURCE, settings.MARKET_TOP_N = "binance", 2
    settings.BINANCE_REST_URL, settings.BINANCE_WS_URL = binance.rest_url, binance.ws_url
    market_source.cache_clear()
    try:
        call_command("market_load", stdout=io.StringIO())
    finally:
        market_source.cache_clear()

    assert sorted(Coin.objects.filter(is_active=True).values_list("symbol", flat=True)) == ["BTC", "ETH"]
    assert Candle.objects.filter(coin__symbol="ETH", timeframe="1m").count() == 1000
