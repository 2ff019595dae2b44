"""Start-up back-fill from Binance: 150 coins x 6 timeframes x 1,000 bars, under the weight limit.

Against the Binance imitation in a process of its own (150 USDT pairs with 1,100 days of history,
Binance's 6,000 weight a minute, klines weighing 2), into a scratch PostgreSQL database: the coin
universe is read (exchangeInfo, ticker/24hr), then ``history_extend`` fetches the latest 1,000
closed bars of every timeframe of every coin (900 klines requests, 8 at a time) and stores them.
Printed: the time to fetch and to store, requests and weight, the most weight used in any
60-second window (sliding, and per the imitation's minute windows) against the limit, and the
429/418 answers (there must be none). A second run does the same under a limit of 1,200 a minute
(Binance's limit until 2023), which forces the client to pace itself over two windows.

Run from the project root: ``.venv/bin/python bench/binance_backfill.py`` (``--help``); it needs
PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379, and takes about two minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _binance import environment, imitation, imitation_stats, log, scratch_database, table


def run(limit: int, coins: int) -> list[object]:
    """One back-fill against an imitation with ``limit`` weight a minute; its row of figures."""
    from markets.models import Candle
    from markets.services import coins_sync, history_extend
    from markets.sources.binance import BinanceSource

    Candle.objects.all().delete()
    with imitation("--symbols", str(coins), "--history-days", "1100", "--weight-limit", str(limit)) as url:
        source = BinanceSource(rest_url=url, ws_url=url.replace("http", "ws"))
        started = time.perf_counter()
        coins_sync(listings=source.listings(), top_n=coins)
        fetch = {}
        history = source.history

        def timed_history(**kwargs):
            begun = time.perf_counter()
            bars = history(**kwargs)
            fetch["seconds"] = time.perf_counter() - begun
            return bars

        source.history = timed_history
        written = history_extend(source=source)
        total = time.perf_counter() - started
        stats = imitation_stats(url)
    requests = stats["requests"]
    weights = [(at, weight) for at, _, weight, _ in requests]
    sliding = max(sum(w for t, w in weights if start <= t < start + 60) for start, _ in weights)
    by_minute: dict[int, int] = {}
    for at, weight in weights:
        by_minute[int(at // 60)] = by_minute.get(int(at // 60), 0) + weight
    refused = sum(1 for *_, status in requests if status in (418, 429))
    klines = sum(1 for _, path, _, _ in requests if path == "/api/v3/klines")
    log(f"limit {limit}: {written:,} bars in {total:.1f} s")
    return [
        f"{limit:,}",
        f"{written:,}",
        klines,
        f"{sum(w for _, w in weights):,}",
        f"{fetch['seconds']:.1f}",
        f"{total - fetch['seconds']:.1f}",
        f"{total:.1f}",
        f"{sliding:,}",
        f"{max(by_minute.values()):,}",
        refused,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coins", type=int, default=150)
    parser.add_argument("--limits", default="6000,1200", help="weight limits a minute to run with, comma-separated")
    options = parser.parse_args()
    os.environ.update(environment())
    import django

    with scratch_database():
        django.setup()
        rows = [run(int(limit), options.coins) for limit in options.limits.split(",")]
    print(f"\nBack-fill of {options.coins} coins x 6 timeframes x 1,000 bars from the Binance imitation\n")
    headers = ["limit/min", "bars", "klines req", "weight", "fetch s", "store s", "total s"]
    headers += ["max weight/60 s sliding", "max weight/minute", "429+418"]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
