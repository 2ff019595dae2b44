"""Switching MARKET_SOURCE on one database, as an operator does it, with the project's real processes:
the simulation, then Binance (the local imitation) through the feed's start, then the simulation again
through ``market_load`` (``make run``'s set-up). Each start leaves only its own source's market data.

Without REDIS_URL the feed runs inside daphne (embedded); with it, ``run_feed`` runs alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from markets.tests.binance_imitation import BinanceImitation, ImitatedSymbol, imitation_running, seed_symbols
from tests.processes import ROOT, Processes, process_env, processes, wait_for

BINANCE_LISTED = {"NEWT", "BTC", "ETH"}  # the top 3 by volume; NEWT is no coin of the simulation's
BACKFILLED = {"source": "binance", "since": None, "backfilled": True}


@pytest.fixture
def binance():
    symbols = [*seed_symbols(5), ImitatedSymbol("NEWT", 1.25, 5e9)]
    with imitation_running(BinanceImitation(symbols, kline_push_interval=1.0, ticker_interval=1.0)) as imitation:
        yield imitation


def serve(group: Processes, **env: str) -> str:
    """The server and its feed (inside it, or run_feed beside it in full stack); its base URL."""
    if settings.REDIS_URL:
        env["FEED_EMBEDDED"] = "false"
        group.feed(**env)
    return group.daphne(**env)


def logs_dir(tmp_path: Path, run: str) -> Path:
    """A directory for one run's process logs: each run starts processes of the same names."""
    (tmp_path / run).mkdir()
    return tmp_path / run


def feed_log(group: Processes) -> str:
    return group.log("feed" if settings.REDIS_URL else "daphne")


def stored_data(base: str) -> dict:
    return httpx.get(f"{base}/api/health", timeout=5).json()["components"]["feed"]["stored_data"]


def api(base: str, path: str, **params) -> dict:
    response = httpx.get(f"{base}{path}", params=params, timeout=10)
    assert response.status_code == 200, (path, response.status_code)
    return response.json()


def dashboard_rows(base: str, **params) -> set[str]:
    html = httpx.get(f"{base}/", params=params, timeout=10).text
    return set(re.findall(r'<tr data-symbol="(\w+)"', html))


def switch_lines(log: str) -> list[str]:
    return re.findall(r"Market data switch.*", log)


def test_switching_sources_leaves_only_the_new_sources_market_data_both_ways(seeded_market, binance, tmp_path):
    with processes(logs_dir(tmp_path, "simulated")) as group:
        base = serve(group, MARKET_SOURCE="simulated")
        wait_for(lambda: stored_data(base)["source"] == "simulated", what="the simulation's data", logs=group)

    env = {"BINANCE_REST_URL": binance.rest_url, "BINANCE_WS_URL": binance.ws_url, "MARKET_TOP_N": "3"}
    with processes(logs_dir(tmp_path, "binance")) as group:
        base = serve(group, MARKET_SOURCE="binance", **env)
        wait_for(lambda: stored_data(base) | {"since": None} == BACKFILLED, what="Binance's back-fill", logs=group)

        assert {c["symbol"] for c in api(base, "/api/coins")["results"]} == BINANCE_LISTED
        assert dashboard_rows(base, per_page=100) == BINANCE_LISTED
        assert api(base, "/api/coins/DOGE")["symbol"] == "DOGE"  # unlisted, still there for what refers to it
        assert httpx.get(f"{base}/coins/DOGE", timeout=10).status_code == 200
        # The back-fill stores closed days only; today's forming day arrives with the stream, maybe not yet.
        now = binance.now()
        days = api(base, "/api/coins/btc/candles", timeframe="1d", limit=1000)
        days = [d for d in days if d["time"] + 86400 <= now]
        klines = {int(k[0]): k[1:5] for k in binance.kline_floats("BTCUSDT", "1d", limit=1000)}
        closed = sorted(t for t in klines if t + 86400 <= now)
        assert [d["time"] for d in days] == closed  # Binance's days only: none of the simulation's 400
        assert [[d["open"], d["high"], d["low"], d["close"]] for d in days] == [klines[t] for t in closed]
        [line] = switch_lines(feed_log(group))
        assert line.startswith("Market data switched from simulated to binance: ")
        assert line.endswith("; 3 coins listed, 3 unlisted (kept, hidden from lists)")  # SOL, DOGE, PEPE

    loaded = subprocess.run(
        [sys.executable, "manage.py", "market_load"],
        cwd=ROOT,
        env=process_env(MARKET_SOURCE="simulated"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert loaded.returncode == 0, loaded.stderr
    [line] = switch_lines(loaded.stderr)
    assert line.startswith("Market data switched from binance to simulated: ")
    assert line.endswith("; 130 coins listed, 1 unlisted (kept, hidden from lists)")  # NEWT
    with processes(logs_dir(tmp_path, "simulated-again")) as group:
        base = serve(group, MARKET_SOURCE="simulated")

        assert api(base, "/api/coins")["count"] == 130
        assert api(base, "/api/coins", search="NEWT")["count"] == 0
        assert len(dashboard_rows(base, per_page=100, page=2)) == 30
        assert api(base, "/api/coins/NEWT")["symbol"] == "NEWT"
        days = api(base, "/api/coins/btc/candles", timeframe="1d", limit=1000)
        assert len(days) > 365  # the simulation's 400 days
        assert not [d for d in days if [d["open"], d["high"], d["low"], d["close"]] in klines.values()]
        assert stored_data(base)["source"] == "simulated"
