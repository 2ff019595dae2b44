"""Watchlist benchmark: GET /api/watchlist with 200 coins and their 7-day sparklines, against the same
list with one coin and against GET /api/coins?limit=200 (the coin list of the same figures) in the
same run; and the queries each takes (the list's must not grow with its coins).

In-process and on one core: the process pins itself to one CPU, and Django's test client calls the
real URL, DRF view, selectors and JSON renderer without a socket, signed in with a JWT as an API
client is (bench/api_coins.py measures the HTTP server's own cost). The store is a scratch one: by
default PostgreSQL (database ``bench_watchlists``, dropped at the end) and Redis (db 10, prefix
``bench-watchlists``, its keys deleted), with ``--embedded`` a temporary SQLite file and the
local-memory cache. 200 coins get 31 days of closed 1h bars (744 each) and 60 daily bars, so that
every item has its 7- and 30-day changes and a full sparkline (168 hourly closes). "cold" rows: a
list's first request in an hour, when the closes and sparklines of its coins are not cached yet.

Run from the project root: ``.venv/bin/python bench/watchlists.py`` (``--embedded``, ``--help``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import fmt, log, percentile, table, verdict  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "bench_watchlists"
COINS = 200
HOURLY_BARS = 31 * 24
DAILY_BARS = 60
P95_AIM_MS = 50.0
LIST = "/api/watchlist?sparkline=true"
BASELINE = "/api/coins?limit=200"


def pin_to_one_core() -> int:
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def configure(embedded: bool) -> None:
    """Environment for a scratch store, before Django reads its settings."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="scalpaiboard.settings",
        VAR_DIR=tempfile.mkdtemp(prefix="bench-watchlists-"),
        SECRET_KEY=secrets.token_urlsafe(40),
        DEBUG="false",
        FEED_EMBEDDED="false",
        RATE_LIMIT_RPM="0",  # thousands of requests from one client
    )
    if embedded:
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("REDIS_URL", None)
        return
    _database_recreate()
    os.environ.update(
        DATABASE_URL=PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME,
        REDIS_URL="redis://127.0.0.1:6379/10",
        REDIS_PREFIX="bench-watchlists",
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
    """200 coins with 31 days of 1h bars and 60 daily bars; returns their symbols, by rank."""
    import numpy as np
    from django.core.management import call_command

    from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME
    from markets.services import candles_store, coins_seed
    from markets.sources.base import CoinProfile
    from markets.universe import seed_profiles

    call_command("migrate", verbosity=0)
    profiles = list(seed_profiles())[:COINS]
    profiles += [CoinProfile(f"SYN{i}", f"Synthetic {i}", 300 + i, 1.0, 1e7) for i in range(COINS - len(profiles))]
    coins_seed(profiles=profiles)
    rng = np.random.default_rng(7)

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
        hourly[p.symbol] = walk(HOURLY_BARS, 3600, now, p.price, p.daily_volatility / 5)
        daily[p.symbol] = walk(DAILY_BARS, 86400, now - now % 86400, p.price, p.daily_volatility)
    candles_store(bars={"1h": hourly, "1d": daily})
    return [p.symbol for p in profiles]


def users_build(symbols: list[str]) -> dict[str, str]:
    """Two users, one with every coin on the default list and one with a single coin; their JWTs."""
    from rest_framework_simplejwt.tokens import AccessToken

    from scalpaiboard.accounts.models import User
    from watchlists.selectors import watchlist_default_get
    from watchlists.services import watchlist_item_add

    tokens = {}
    for name, held in (("many", symbols), ("one", symbols[:1])):
        user = User.objects.create_user(username=name, email=f"{name}@example.com")
        watchlist = watchlist_default_get(user=user)
        for symbol in held:
            watchlist_item_add(watchlist=watchlist, symbol=symbol, note=f"note on {symbol}")
        tokens[name] = f"Bearer {AccessToken.for_user(user)}"
    return tokens


def timed_get(client, url: str, token: str | None) -> tuple[float, int]:
    headers = {"Authorization": token} if token else {}
    started = time.perf_counter()
    response = client.get(url, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.content[:200]!r}")
    return elapsed, len(response.content)


def queries_count(client, url: str, token: str | None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        timed_get(client, url, token)
    return len(captured.captured_queries)


def measure(tokens: dict[str, str], rounds: int) -> list[list[str]]:
    """Each case: warm-up requests, then ``rounds`` timed ones, interleaved so that the machine's
    state weighs on each alike; its queries are counted on a request of its own."""
    from django.test import Client

    client = Client(HTTP_ACCEPT="application/json", HTTP_HOST="localhost")
    cases = [
        (f"GET {LIST}, 200 coins", LIST, tokens["many"]),
        (f"GET {LIST}, 1 coin", LIST, tokens["one"]),
        ("GET /api/watchlist, 200 coins, no sparklines", "/api/watchlist", tokens["many"]),
        ("GET /api/watchlist?sparkline=true&ordering=-change7d, 200", LIST + "&ordering=-change7d", tokens["many"]),
        (f"GET {BASELINE} (baseline, anonymous)", BASELINE, None),
    ]
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    sizes: dict[str, int] = {}
    for _ in range(5):
        for _label, url, token in cases:
            timed_get(client, url, token)
    for _ in range(rounds):
        for label, url, token in cases:
            elapsed, sizes[label] = timed_get(client, url, token)
            times[label].append(elapsed * 1000)
    rows = []
    for label, url, token in cases:
        rows.append(_row(label, times[label], queries_count(client, url, token), sizes[label]))
    colds = ((f"GET {LIST}, 200 coins, cold", tokens["many"]), (f"GET {LIST}, 1 coin, cold", tokens["one"]))
    for label, token in colds:
        cold = []
        for _ in range(max(1, rounds // 5)):
            hour_cache_empty()
            elapsed, size = timed_get(client, LIST, token)
            cold.append(elapsed * 1000)
        hour_cache_empty()
        rows.append(_row(label, cold, queries_count(client, LIST, token), size))
    return rows


def hour_cache_empty() -> None:
    """Forget the closes and sparklines cached for this hour: a list's first request in an hour."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.REDIS_URL:
        cache.delete_pattern("watchlists:*")
    else:
        cache.clear()


def _row(label: str, times_ms: list[float], queries: int, size: int) -> list:
    ms = sorted(times_ms)
    p50, p95 = fmt(percentile(ms, 50), 2), fmt(percentile(ms, 95), 2)
    return [label, len(ms), p50, p95, fmt(ms[-1], 2), queries, f"{size:,}"]


def report(rows: list[list[str]], store: str, core: int) -> bool:
    print(f"Watchlist benchmark: {store}, in-process (Django test client, JWT), pinned to CPU {core}")
    print(f"{COINS} coins with {HOURLY_BARS} closed 1h bars and {DAILY_BARS} daily bars each\n")
    print(table(["", "requests", "p50 ms", "p95 ms", "max ms", "queries", "bytes"], rows))
    p95 = float(rows[0][3].replace(",", ""))
    same_queries = rows[0][5] == rows[1][5] and rows[-2][5] == rows[-1][5]
    print()
    print(f"Aim: p95 of GET {LIST} with {COINS} coins under {P95_AIM_MS:.0f} ms: {fmt(p95, 2)} ms  {verdict(p95 < 50)}")
    queries = f"{rows[0][5]} and {rows[1][5]} (cold: {rows[-2][5]} and {rows[-1][5]})"
    print(f"Aim: as many queries for {COINS} coins as for 1: {queries}  {verdict(same_queries)}")
    return p95 < P95_AIM_MS and same_queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite and the local-memory cache")
    parser.add_argument("--rounds", type=int, default=200, help="timed requests per case (default 200)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when an aim is missed")
    args = parser.parse_args()
    core = pin_to_one_core()
    configure(args.embedded)
    import django

    django.setup()
    from markets.timeframes import bucket_start

    now = bucket_start(time.time(), 3600)
    try:
        log(f"building the market ({COINS} coins, {HOURLY_BARS} 1h bars and {DAILY_BARS} daily bars each)")
        symbols = market_build(now)
        log("two users: 200 coins on one's default list, 1 on the other's")
        tokens = users_build(symbols)
        log(f"timing requests ({args.rounds} per case)")
        rows = measure(tokens, args.rounds)
        met = report(rows, "SQLite + local memory" if args.embedded else "PostgreSQL + Redis", core)
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
