"""End to end in Binance mode: the project's real processes stream from the local Binance imitation.

Without REDIS_URL the feed runs inside daphne (embedded); with it, ``run_feed`` runs alone and
publishes through Redis. Either way a /ws client receives the imitation's tickers and the API
serves its candles.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets
from django.conf import settings

from markets.tests.binance_imitation import BinanceImitation, decimal, imitation_running, seed_symbols
from tests.processes import processes, wait_for

TRACKED = {"BTC", "ETH", "SOL"}


@pytest.fixture
def binance():
    imitation = BinanceImitation(seed_symbols(5), kline_push_interval=1.0, ticker_interval=1.0)
    with imitation_running(imitation):
        yield imitation


async def ticker_batch(url: str, timeout: float = 30) -> dict:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "subscribe", "symbols": "*"}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
            if message["type"] == "tickers" and {t["symbol"] for t in message["data"]} == TRACKED:
                return message
    raise AssertionError("no batch with every tracked coin arrived")


def price_at(binance: BinanceImitation, symbol: str, ts_ms: int) -> float:
    pair = binance.symbols[f"{symbol}USDT"]
    return float(decimal(binance.market.price(pair.pair, ts_ms / 1000), pair.price_decimals))


def test_the_feed_streams_binance_to_websocket_clients_and_the_api(transactional_db, binance, tmp_path):
    env = {
        "MARKET_SOURCE": "binance",
        "BINANCE_REST_URL": binance.rest_url,
        "BINANCE_WS_URL": binance.ws_url,
        "MARKET_TOP_N": "3",
    }
    with processes(tmp_path) as group:
        if settings.REDIS_URL:
            env["FEED_EMBEDDED"] = "false"
            group.feed(**env)
        base = group.daphne(**env)

        batch = asyncio.run(ticker_batch(base.replace("http", "ws") + "/ws"))
        for ticker in batch["data"]:
            assert abs(ticker["ts"] / 1000 - time.time()) < 5
            assert ticker["price"] == pytest.approx(price_at(binance, ticker["symbol"], ticker["ts"]), rel=1e-4)

        def candles() -> list[dict]:
            response = httpx.get(f"{base}/api/coins/btc/candles", params={"timeframe": "5m", "limit": 50}, timeout=5)
            return response.status_code == 200 and response.json()

        bars = wait_for(candles, what="5m candles from the API", logs=group)
        klines = {int(k[0]): k[1:] for k in binance.kline_floats("BTCUSDT", "5m", limit=60)}
        closed = bars[:-1]  # the last one is still forming
        assert len(closed) == 49
        for bar in closed:
            assert [bar["open"], bar["high"], bar["low"], bar["close"]] == klines[bar["time"]][:4]
            assert bar["volume"] == pytest.approx(klines[bar["time"]][4], rel=1e-12)

        health = wait_for(
            lambda: (body := httpx.get(f"{base}/api/health", timeout=5).json())["status"] == "ok" and body,
            what="a healthy feed",
            logs=group,
        )
        assert health["components"]["feed"]["source"] == "binance"
        assert health["components"]["feed"]["delay_seconds"] < 5
        coins = httpx.get(f"{base}/api/coins", timeout=5).json()["results"]
        assert {c["symbol"] for c in coins} == TRACKED
