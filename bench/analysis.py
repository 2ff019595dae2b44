"""Technical-analysis benchmark: GET /api/coins/{symbol}/analysis cached and uncached, and a scan of
the whole market (every coin, one timeframe, all indicators and chart patterns).

In-process and on one core: the process pins itself to one CPU, and Django's test client calls the
real URL, DRF view, selectors and JSON renderer without a socket (the HTTP server's own cost is what
bench/api_coins.py measures). The store is a scratch one: by default PostgreSQL (database
``bench_analysis``, dropped at the end) and Redis (db 5, prefix ``bench-analysis``), with
``--embedded`` a temporary SQLite file and the local-memory cache. 150 coins get 600 closed 1h bars
(random walks with each coin's own volatility) and 60 daily bars, and a forming bar in the snapshot,
as the feed leaves them; the analysis reads the last 500 closed bars.

- uncached: the first request for a coin once the cache is empty (a new closed bar), in three passes
  over the 150 coins, after one warm-up request (numba compiles pandas-ta's kernels on first use);
- cached: requests on coins already analysed for this bar (the forming bar is still stepped in);
- scan: ``coins_screen(timeframe="1h")`` with an empty cache, i.e. the bars of 150 coins loaded (4
  queries), then indicators, levels and patterns for each; also its compute part alone.

Run from the project root: ``.venv/bin/python bench/analysis.py`` (``--embedded``, ``--help``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import fmt, log, percentile, table, verdict  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "bench_analysis"
COINS = 150
CLOSED_BARS = 600
ANALYSED_BARS = 500
UNCACHED_AIM_MS = 50.0
SCAN_AIM_S = 2.0


def pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def configure(embedded: bool) -> None:
    """Environment for a scratch store, before Django reads its settings."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="scalpaiboard.settings",
        VAR_DIR=tempfile.mkdtemp(prefix="bench-analysis-"),
        SECRET_KEY=secrets.token_urlsafe(40),
        DEBUG="false",
        FEED_EMBEDDED="false",
    )
    if embedded:
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        return
    _database_recreate()
    os.environ.update(
        DATABASE_URL=PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME,
        REDIS_URL="redis://127.0.0.1:6379/5",
        REDIS_PREFIX="bench-analysis",
    )


def _database_recreate(*, drop_only: bool = False) -> None:
    import psycopg2

    connection = psycopg2.connect(PG_ADMIN_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        if not drop_only:
            cursor.execute(f"CREATE DATABASE {DB_NAME}")
    connection.close()


def market_build(now: int) -> list[str]:
    """150 coins with 1h and daily history and a forming bar each; returns their symbols."""
    import numpy as np
    from django.core.management import call_command

    from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME
    from markets.services import candles_store, coins_seed
    from markets.sources.base import CoinProfile
    from markets.universe import seed_profiles

    call_command("migrate", verbosity=0)
    profiles = list(seed_profiles())[:COINS]
    profiles += [CoinProfile(f"SYN{i}", f"Synthetic {i}", 200 + i, 1.0, 1e7) for i in range(COINS - len(profiles))]
    coins_seed(profiles=profiles)
    rng = np.random.default_rng(42)

    def walk(count: int, seconds: int, end: int, price: float, volatility: float) -> np.ndarray:
        closes = price * np.exp(np.cumsum(rng.normal(0, volatility, count)))
        bars = np.empty((count, 6))
        bars[:, TIME] = end - seconds * np.arange(count, 0, -1)
        bars[:, OPEN], bars[:, CLOSE] = np.r_[price, closes[:-1]], closes
        bars[:, HIGH] = np.maximum(bars[:, OPEN], closes) * (1 + rng.uniform(0, volatility, count))
        bars[:, LOW] = np.minimum(bars[:, OPEN], closes) * (1 - rng.uniform(0, volatility, count))
        bars[:, VOLUME] = rng.lognormal(8, 1, count)
        return bars

    hourly, daily = {}, {}
    for p in profiles:
        sigma = p.daily_volatility / 5  # an hour's move
        hourly[p.symbol] = walk(CLOSED_BARS, 3600, now, p.price, sigma)
        daily[p.symbol] = walk(60, 86400, now - now % 86400, p.price, p.daily_volatility)
    candles_store(bars={"1h": hourly, "1d": daily})
    forming_publish({s: bars[-1] for s, bars in hourly.items()}, now)
    return [p.symbol for p in profiles]


def forming_publish(last_closed: dict, now: int) -> None:
    """The feed's snapshot: every coin's ticker and its forming 1h bar, opened at ``now``."""
    from markets import snapshot

    bars, tickers = {}, {}
    for symbol, last in last_closed.items():
        close = float(last[4]) * 1.001
        bars[symbol] = {"1h": {"time": now, "open": float(last[4]), "high": close, "low": float(last[4]),
                               "close": close, "volume": 10.0}}  # fmt: skip
        tickers[symbol] = {"symbol": symbol, "price": close, "change24h": 0.0, "volume24h": 1e7, "ts": now * 1000}
    snapshot.snapshot_store(tickers=tickers, bars=bars, version=now, ts=now * 1000)


def cache_empty(last_closed: dict, now: int) -> None:
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        cache.delete_pattern("*")  # this run's prefix only
    else:
        cache.clear()
    forming_publish(last_closed, now)


def timed_get(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:200]!r}")
    return elapsed


def requests_measure(symbols: list[str], last_closed: dict, now: int) -> dict[str, list[float]]:
    from django.test import Client

    client = Client(HTTP_ACCEPT="application/json", HTTP_HOST="localhost")
    url = "/api/coins/{}/analysis?timeframe=1h&bars=" + str(ANALYSED_BARS)
    series = url + "&series=true"
    timed_get(client, url.format(symbols[0]) + "&series=true")  # warm-up: numba, imports
    out: dict[str, list[float]] = {"uncached": [], "uncached, series=true": [], "cached": [], "cached, series=true": []}
    for _ in range(3):
        cache_empty(last_closed, now)
        out["uncached"] += [timed_get(client, url.format(s)) for s in symbols]
    cache_empty(last_closed, now)
    out["uncached, series=true"] += [timed_get(client, series.format(s)) for s in symbols]
    for _ in range(10):
        out["cached"] += [timed_get(client, url.format(s)) for s in symbols]
    for _ in range(3):
        out["cached, series=true"] += [timed_get(client, series.format(s)) for s in symbols]
    return out


def scan_measure(last_closed: dict, now: int, runs: int) -> dict[str, list[float]]:
    from markets.analysis.engine import closed_analysis_build
    from markets.analysis.params import DEFAULT_PARAMS
    from markets.analysis.selectors import closed_bars_load, coins_screen
    from markets.models import Coin

    out: dict[str, list[float]] = {"wall": [], "cpu": [], "compute": [], "cached": []}
    for _ in range(runs):
        cache_empty(last_closed, now)
        wall, cpu = time.perf_counter(), time.process_time()
        rows = coins_screen(timeframe="1h")
        out["wall"].append(time.perf_counter() - wall)
        out["cpu"].append(time.process_time() - cpu)
        assert len(rows) == COINS, len(rows)
        started = time.perf_counter()
        coins_screen(timeframe="1h")
        out["cached"].append(time.perf_counter() - started)
    bars = closed_bars_load(coin_ids=list(Coin.objects.values_list("pk", flat=True)), timeframe="1h", count=500)
    for _ in range(runs):
        started = time.perf_counter()
        for array in bars.values():
            closed_analysis_build(bars=array, daily=array[:0], timeframe="1h", reference=now, params=DEFAULT_PARAMS)
        out["compute"].append(time.perf_counter() - started)
    return out


def report(latencies: dict[str, list[float]], scans: dict[str, list[float]], store: str, core: int) -> bool:
    rows = []
    for label, values in latencies.items():
        ms = sorted(v * 1000 for v in values)
        rows.append([label, len(ms), fmt(percentile(ms, 50), 2), fmt(percentile(ms, 95), 2), fmt(ms[-1], 2)])
    uncached_p95 = percentile(sorted(v * 1000 for v in latencies["uncached"]), 95)
    scan = statistics.median(scans["wall"])
    print(f"Analysis benchmark: {store}, in-process (Django test client), pinned to CPU {core}")
    print(f"{COINS} coins, 1h, {ANALYSED_BARS} closed bars analysed + the forming bar\n")
    print("GET /api/coins/{symbol}/analysis (ms)")
    print(table(["", "requests", "p50", "p95", "max"], rows))
    print()
    print(f"Full-market scan, {COINS} coins (coins_screen, empty cache; {len(scans['wall'])} runs)")
    print(
        table(
            ["", "median", "best"],
            [
                ["wall (s)", fmt(scan, 3), fmt(min(scans["wall"]), 3)],
                ["CPU (s)", fmt(statistics.median(scans["cpu"]), 3), fmt(min(scans["cpu"]), 3)],
                ["compute only (s)", fmt(statistics.median(scans["compute"]), 3), fmt(min(scans["compute"]), 3)],
                ["same scan, cached (s)", fmt(statistics.median(scans["cached"]), 3), fmt(min(scans["cached"]), 3)],
            ],
        )
    )
    print()
    met_request, met_scan = uncached_p95 < UNCACHED_AIM_MS, scan < SCAN_AIM_S
    print(f"Aim: uncached p95 under {UNCACHED_AIM_MS:.0f} ms: {fmt(uncached_p95, 2)} ms  {verdict(met_request)}")
    print(f"Aim: full scan under {SCAN_AIM_S:.0f} s on one core: {fmt(scan, 3)} s  {verdict(met_scan)}")
    return met_request and met_scan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite and the local-memory cache")
    parser.add_argument("--scans", type=int, default=5, help="full-market scans to time (default 5)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when an aim is missed")
    args = parser.parse_args()
    core = pin_to_one_core()
    configure(args.embedded)
    import django

    django.setup()
    if args.embedded:
        from django.conf import settings

        # The local-memory cache keeps 300 entries by default: a scan of 150 coins needs more.
        settings.CACHES["default"]["OPTIONS"] = {"MAX_ENTRIES": 10_000}
    from markets.timeframes import bucket_start

    now = bucket_start(time.time(), 3600)
    try:
        log("building the market (150 coins, 600 1h bars and 60 daily bars each)")
        symbols = market_build(now)
        from markets.analysis.selectors import closed_bars_load
        from markets.models import Coin

        ids = dict(Coin.objects.values_list("symbol", "pk"))
        loaded = closed_bars_load(coin_ids=list(ids.values()), timeframe="1h", count=1)
        last_closed = {s: loaded[ids[s]][-1] for s in symbols}
        log("timing requests")
        latencies = requests_measure(symbols, last_closed, now)
        log("timing full-market scans")
        scans = scan_measure(last_closed, now, args.scans)
        met = report(latencies, scans, "SQLite + local memory" if args.embedded else "PostgreSQL + Redis", core)
    finally:
        if not args.embedded:
            from django.core.cache import cache
            from django.db import connections

            cache.delete_pattern("*")
            connections.close_all()
            _database_recreate(drop_only=True)
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
