"""The markets without Redis: the API and the pages answer from the database, with the age of the
prices stated; /api/health says "degraded"; /ws refuses new sockets; the feed goes on writing.

Redis "goes down" for this process by pointing the cache and the channel layer at a port nothing
listens on (tests/test_redis_down.py stops a real server under the real processes).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from markets import snapshot
from markets.feed import Feed
from markets.live import live_publisher
from markets.models import Coin
from markets.selectors import feed_status
from markets.services import market_flush
from markets.sources.base import Tick
from markets.tests.test_api import NOW, store_1m_bars, ticker
from scalpaiboard.routing import application
from tests.processes import free_port


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def take_redis_down(settings):
    """Call to make Redis unreachable for this process: the cache and the channel layer (and what
    /api/health pings) point at a port nothing listens on. Full stack only."""
    if not settings.REDIS_URL:
        pytest.skip("embedded mode has no Redis to lose")

    def down() -> None:
        dead = f"redis://127.0.0.1:{free_port()}/0"
        settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": dead}}
        layer = settings.CHANNEL_LAYERS["default"]
        host = layer["CONFIG"]["hosts"][0]
        hosts = [{**host, "address": dead} if isinstance(host, dict) else dead]
        settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": hosts}}}
        settings.REDIS_URL = dead
        channel_layers.backends.clear()

    yield down
    channel_layers.backends.clear()


def written_ago(seconds: float) -> None:
    """The feed last wrote every coin's figures ``seconds`` ago."""
    Coin.objects.update(updated_at=timezone.now() - timedelta(seconds=seconds))


# --- fallbacks that work the same in both modes ------------------------------------------------


def test_feed_status_is_the_feeds_heartbeat_while_redis_is_up(coins):
    written_ago(60)  # the database is not asked
    snapshot.snapshot_store(tickers={}, bars={}, version=int(time.time() * 1000), ts=int(time.time() * 1000))
    assert feed_status()["status"] == "ok" and feed_status()["heartbeat"] == "cache"


def test_coins_state_the_age_of_their_figures(api, coins):
    written_ago(42)
    started = time.time()
    listed = api.get("/api/coins", {"limit": 1}).json()["results"][0]
    detail = api.get("/api/coins/ETH").json()
    elapsed = time.time() - started
    assert 42 <= listed["age"] <= detail["age"] <= 42 + elapsed + 0.1


def test_coin_list_without_a_market_version_comes_from_the_database_every_time(api, coins, django_assert_num_queries):
    with django_assert_num_queries(2):
        api.get("/api/coins", {"limit": 1})
    market_flush(tickers={"BTC": ticker("BTC", 91000.0)}, closed=[])  # written, no version to key on
    with django_assert_num_queries(2):
        assert api.get("/api/coins", {"limit": 1}).json()["results"][0]["price"] == 91000.0


# --- Redis unreachable (full stack) ---------------------------------------------------------------


def test_feed_status_comes_from_the_database_while_redis_is_unreachable(coins, take_redis_down):
    written_ago(2)
    take_redis_down()
    status = feed_status()
    assert status["status"] == "ok" and status["heartbeat"] == "database"
    assert 2 <= status["seconds_since_last_tick"] < 4


def test_feed_status_from_the_database_is_stale_when_the_feed_stopped_writing(coins, take_redis_down):
    written_ago(60)
    take_redis_down()
    assert feed_status()["status"] == "stale"


def test_coin_list_and_detail_answer_from_the_database_with_the_age(api, coins, take_redis_down):
    market_flush(tickers={"BTC": ticker("BTC", 91000.0)}, closed=[])
    take_redis_down()
    listed = api.get("/api/coins", {"limit": 2})
    assert listed.status_code == 200
    assert [(c["symbol"], c["price"]) for c in listed.json()["results"]] == [("BTC", 91000.0), ("ETH", 3000.0)]
    assert all(0 <= c["age"] < 5 for c in listed.json()["results"])
    detail = api.get("/api/coins/btc")
    assert detail.status_code == 200 and detail.json()["price"] == 91000.0


def test_candles_answer_the_closed_bars_without_the_forming_one(api, coins, take_redis_down):
    store_1m_bars("BTC", 5)
    forming = {"time": NOW, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3.0}
    snapshot.snapshot_store(tickers={"BTC": ticker("BTC", 1.5)}, bars={"BTC": {"1m": forming}}, version=1, ts=1)
    take_redis_down()
    response = api.get("/api/coins/BTC/candles", {"timeframe": "1m", "limit": 10})
    assert response.status_code == 200
    assert [b["time"] for b in response.json()] == [NOW - 60 * n for n in range(5, 0, -1)]


@pytest.mark.parametrize("suffix", ["analysis", "analysis?timeframes=1h,1d", "patterns"])
def test_analysis_and_patterns_answer_at_the_last_closed_bar(api, coins, take_redis_down, suffix):
    store_1m_bars("BTC", 5)
    take_redis_down()
    response = api.get(f"/api/coins/BTC/{suffix}")
    assert response.status_code == 200
    if suffix == "analysis":
        assert response.json()["forming"] is False


def test_screener_answers(api, coins, take_redis_down):
    take_redis_down()
    response = api.get("/api/screener")
    assert response.status_code == 200 and response.json()["count"] == 5


@pytest.mark.parametrize("suffix", ["orderbook", "trades"])
def test_order_book_and_trades_of_the_simulation_are_503_naming_the_cache(api, coins, take_redis_down, suffix):
    take_redis_down()
    response = api.get(f"/api/coins/BTC/{suffix}")
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "the simulated exchange's live state is kept in the cache (Redis), which is unreachable now"
    )
    assert response["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "BTC"),
        ("/coins/BTC", 'data-symbol="BTC"'),
        ("/coins/BTC/analysis", "BTC"),
        (
            "/coins/BTC/orderbook",
            "Order book unavailable: the simulated exchange&#x27;s live state is kept in the cache",
        ),
        ("/coins/BTC/trades", "Trades unavailable: the simulated exchange&#x27;s live state is kept in the cache"),
        ("/markets/overview", "SOL"),
    ],
)
def test_pages_render_from_the_database(coins, take_redis_down, path, expected):
    store_1m_bars("BTC", 5)
    take_redis_down()
    response = Client().get(path)
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_pages_show_no_delay_notice_while_the_feed_writes_the_database(coins, take_redis_down):
    written_ago(1)
    take_redis_down()
    assert Client().get("/markets/feed-status").content.decode().strip() == ""


def test_health_is_degraded_and_200_naming_what_is_down(api, coins, take_redis_down):
    take_redis_down()
    response = api.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["cache"]["status"] == "down"
    assert body["components"]["cache"]["error"].startswith("RuntimeError: Redis unreachable for")
    assert body["components"]["channel_layer"]["status"] == "down"
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["feed"]["heartbeat"] == "database"


@pytest.mark.django_db(transaction=True)
async def test_a_ws_handshake_is_refused_without_the_channel_layer(coins, take_redis_down, caplog):
    take_redis_down()
    communicator = WebsocketCommunicator(application, "/ws")
    connected, _ = await communicator.connect(timeout=10)
    assert not connected  # a close before accept: daphne answers 403, not a 500
    assert "Refused a /ws socket: the channel layer gave it no channel" in caplog.text


@pytest.mark.django_db(transaction=True)
async def test_the_feed_writes_the_database_and_logs_one_publishing_failure(coins, take_redis_down, caplog, settings):
    take_redis_down()
    settings.FEED_PUBLISH_INTERVAL = 0
    feed = Feed(source=None)
    feed.supply = {}
    with caplog.at_level(logging.WARNING):
        for second, price in enumerate([91000.0, 92000.0, 93000.0], start=1):
            ts = (NOW + second) * 1000
            await feed.handle([Tick("BTC", price, 1.0, ts, 1.0, 1e9, price, price)])
            await asyncio_settle()
    btc = await Coin.objects.aget(symbol="BTC")
    await sync_to_async(connections.close_all)()  # the feed's writes ran in a thread of their own
    assert btc.price == 93000.0
    assert caplog.text.count("Market feed cannot publish to the channel layer") == 1
    assert "could not store" not in caplog.text and "could not update the cache snapshot" not in caplog.text


async def asyncio_settle() -> None:
    """Let the /ws publication of the feed's prices run."""
    task = live_publisher().task
    if task is not None:
        await task
