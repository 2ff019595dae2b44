"""Feed throughput in Binance mode: 2,000 symbols at one update a second each.

The Binance imitation (a process of its own) lists 2,000 USDT pairs and pushes, every second, one
``!miniTicker@arr`` message with all 2,000 tickers and one ``<pair>@kline_1m`` update per pair
(Binance itself pushes klines every 2 s: this is twice its rate). ``manage.py run_feed`` runs with
``MARKET_SOURCE=binance`` and ``MARKET_TOP_N=2000`` on a scratch PostgreSQL database and Redis (the
full stack), so it tracks all 2,000 (7 WebSocket connections: Binance's URL limit). After start-up
(back-fill of an hour of history per pair) and a warm-up, for ``--seconds``:

- the CPU the feed process used (/proc/<pid>/stat, user + system), as a share of one core;
- latency to publication: a subscriber to the "prices" group on the Redis channel layer takes the
  time each message arrives, minus the exchange time ``ts`` (the imitation's send time) of the
  newest ticker in it. That is the feed's arrival-to-publication time plus the network hops on
  either side (loopback and Redis, well under a millisecond).

Run from the project root: ``.venv/bin/python bench/binance_feed.py`` (``--help``); it needs
PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379, and takes about two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _binance import (
    PYTHON,
    ROOT,
    VAR_DIR,
    cpu_seconds,
    environment,
    imitation,
    imitation_stats,
    log,
    machine_cpu,
    percentile,
    redis_reset,
    scratch_database,
    stop,
    table,
)


async def listen(symbols: int, warmup: float, seconds: float, pids: dict[str, int], on_measure=None) -> dict:
    """Wait for batches with every symbol, warm up, then measure latency and the feed's CPU."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("prices", channel)
    deadline = time.monotonic() + 600
    while True:
        message = await asyncio.wait_for(layer.receive(channel), max(1.0, deadline - time.monotonic()))
        if len(message["symbols"]) >= symbols * 0.95:
            break
    log(f"streaming: {len(message['symbols'])} tickers a batch; warming up {warmup:.0f} s")
    end_warmup = time.monotonic() + warmup
    while time.monotonic() < end_warmup:
        await layer.receive(channel)
    if on_measure is not None:
        on_measure()
    latencies, seconds_into_minute = [], []
    tickers, started = 0, time.monotonic()
    cpu_start, machine_start = {name: cpu_seconds(pid) for name, pid in pids.items()}, machine_cpu()
    while time.monotonic() - started < seconds:
        message = await layer.receive(channel)
        arrived = time.time()
        newest = max(orjson.loads(part)["ts"] for part in message["json"])
        latencies.append((arrived - newest / 1000) * 1000)
        seconds_into_minute.append(newest / 1000 % 60)
        tickers += len(message["json"])
    elapsed = time.monotonic() - started
    busy, total = (end - start for end, start in zip(machine_cpu(), machine_start, strict=True))
    return {
        "cpu": {name: (cpu_seconds(pid) - cpu_start[name]) / elapsed for name, pid in pids.items()},
        "machine": busy / total * os.cpu_count(),
        "latencies": latencies,
        "worst": sorted(zip(latencies, seconds_into_minute, strict=True), reverse=True)[:5],
        "tickers_per_second": tickers / elapsed,
        "messages": len(latencies),
    }


def profile(options: argparse.Namespace, pid: int) -> subprocess.Popen:
    """py-spy recording the feed while it is measured (collapsed stacks)."""
    duration = str(int(options.seconds))
    output = str(VAR_DIR / "feed-profile.txt")
    command = [options.profile, "record", "-p", str(pid), "-d", duration, "-f", "raw", "-o", output, "-r", "50"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured")
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument(
        "--kline-interval", type=float, default=1.0, help="seconds between two kline updates of a pair (Binance: 2)"
    )
    parser.add_argument("--profile", metavar="PY_SPY", help="py-spy binary: record the feed while measuring")
    options = parser.parse_args()
    os.environ.update(environment())
    import django

    redis_reset()
    arguments = ["--symbols", str(options.symbols), "--history-minutes", "60", "--weight-limit", "10000000"]
    arguments += ["--kline-push-interval", str(options.kline_interval), "--ticker-interval", "1"]
    with scratch_database(), imitation(*arguments) as url:
        django.setup()
        env = environment(
            MARKET_SOURCE="binance",
            BINANCE_REST_URL=url,
            BINANCE_WS_URL=url.replace("http", "ws"),
            MARKET_TOP_N=str(options.symbols),
        )
        log_path = VAR_DIR / "feed.log"
        with open(log_path, "w") as feed_log:
            feed = subprocess.Popen(
                [PYTHON, "manage.py", "run_feed"], cwd=ROOT, env=env, stdout=feed_log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            try:
                log(f"feed started (pid {feed.pid}, log {log_path}); back-filling {options.symbols} pairs")
                profiler: list[subprocess.Popen] = []
                start_profile = (lambda: profiler.append(profile(options, feed.pid))) if options.profile else None
                pids = {"feed": feed.pid, "imitation": imitation.pid, "benchmark": os.getpid()}
                figures = asyncio.run(
                    listen(options.symbols, options.warmup, options.seconds, pids, on_measure=start_profile)
                )
                for recording in profiler:
                    recording.wait()
                    log(f"profile: {VAR_DIR / 'feed-profile.txt'} (py-spy raw: collapsed stacks)")
                stats = imitation_stats(url)
            finally:
                stop(feed)
                redis_reset()
    latencies = figures["latencies"]
    print(
        f"\nFeed with {options.symbols} Binance pairs: a ticker every second and a kline every "
        f"{options.kline_interval:g} s, each\n"
    )
    connections = stats["connections"]
    print(
        table(
            ["", "value"],
            [
                ["WebSocket connections (streams each)", f"{len(connections)} ({[c[0] for c in connections]})"],
                [
                    "updates received by the feed, per second",
                    f"~{options.symbols * (1 + 1 / options.kline_interval):,.0f}",
                ],
                ["tickers published, per second", f"{figures['tickers_per_second']:,.0f}"],
                ["feed CPU, share of one core", f"{figures['cpu']['feed'] * 100:.1f} %  (aim: under 20 %)"],
                ["publication latency p50", f"{percentile(latencies, 50):.1f} ms"],
                ["publication latency p95", f"{percentile(latencies, 95):.1f} ms"],
                ["publication latency p99", f"{percentile(latencies, 99):.1f} ms  (aim: under 50 ms)"],
                ["publication latency max", f"{max(latencies):.1f} ms"],
                ["messages measured", figures["messages"]],
                [
                    "CPU of the imitation / this listener",
                    f"{figures['cpu']['imitation'] * 100:.0f} % / {figures['cpu']['benchmark'] * 100:.0f} %",
                ],
                ["machine busy (cores of " + str(os.cpu_count()) + ")", f"{figures['machine']:.2f}"],
                [
                    "worst, at second of the minute",
                    ", ".join(f"{ms:.0f} ms @ :{second:02.0f}" for ms, second in figures["worst"]),
                ],
            ],
        )
    )


if __name__ == "__main__":
    main()
