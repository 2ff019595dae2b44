"""API benchmark: GET /api/coins?limit=100 against the minimal JSON view /api/health/live, on the full
stack (default) or the embedded mode (``--embedded``: SQLite, no Redis, the server as ``make run`` runs it).

Part 1, throughput at fixed concurrency (closed loop): N keep-alive clients (one aiohttp session,
connector limit N) each send the next request as soon as the previous answer arrived; 3 s warm-up,
then 20 s measured, first for the coins list, then for the minimal view on the same server.

Part 2, latency at a fixed request rate (open loop): requests are due on a fixed schedule and each
latency is timed from when the request was DUE, not from when it was sent, so a server (or client)
stall shows up in the figures instead of silently lowering the rate (no coordinated omission).

Run from the project root: ``.venv/bin/python bench/api_coins.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import (
    CpuMeter,
    Profile,
    Stack,
    StackError,
    find_py_spy,
    fmt,
    log,
    machine_busy,
    percentile,
    table,
    use_uvloop,
    verdict,
)

COINS = "/api/coins?limit=100"
MINIMAL = "/api/health/live"
P95_AIM_MS = 100.0
RATIO_AIM = 0.5
REQUEST_TIMEOUT = 10.0


@dataclass
class Result:
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    connections: int = 0
    lag_max: float = 0.0  # open loop: worst delay between a request's due time and its sending

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else math.nan

    def pct(self, p: float) -> float:
        return percentile(self._sorted(), p) * 1000

    def _sorted(self) -> list[float]:
        if getattr(self, "_cache", None) is None or len(self._cache) != len(self.latencies):
            self._cache = sorted(self.latencies)
        return self._cache

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def new_session(limit: int) -> tuple[aiohttp.ClientSession, list[int]]:
    """A keep-alive session with at most ``limit`` connections; the list counts connections opened."""
    opened = [0]
    trace = aiohttp.TraceConfig()

    async def on_create(session, context, params):
        opened[0] += 1

    trace.on_connection_create_end.append(on_create)
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, ttl_dns_cache=None, use_dns_cache=True)
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        trace_configs=[trace],
        auto_decompress=False,
        skip_auto_headers=("User-Agent",),
    )
    return session, opened


async def fetch(session: aiohttp.ClientSession, url: str, result: Result, started: float) -> float | None:
    """One GET: read the body as bytes (no JSON parsing), check the status; returns the finish time."""
    try:
        async with session.get(url) as response:
            await response.read()
            if response.status != 200:
                result.error(f"HTTP {response.status}")
                return None
    except TimeoutError:
        result.error("timeout")
        return None
    except aiohttp.ClientError as error:
        result.error(type(error).__name__)
        return None
    finished = time.perf_counter()
    result.latencies.append(finished - started)
    return finished


async def closed_loop(base: str, path: str, *, clients: int, seconds: float, meter_pids: dict | None) -> Result:
    """``clients`` workers, each sending its next request when the previous one is answered."""
    result = Result(path)
    url = base + path
    session, opened = new_session(clients)
    async with session:
        meter = CpuMeter(meter_pids or {}).start()
        start = time.perf_counter()
        deadline = start + seconds
        last = [start]

        async def worker() -> None:
            while time.perf_counter() < deadline:
                finished = await fetch(session, url, result, time.perf_counter())
                if finished:
                    last[0] = max(last[0], finished)

        await asyncio.gather(*(worker() for _ in range(clients)))
        result.elapsed = max(last[0], deadline) - start
        result.cpu = meter.stop()
        result.connections = opened[0]
    return result


async def open_loop(base: str, path: str, *, rate: float, seconds: float, meter_pids: dict | None) -> Result:
    """Requests due every 1/rate s; latency counts from the due time, whatever held the request up."""
    result = Result(path)
    url = base + path
    session, opened = new_session(100)
    async with session:
        meter = CpuMeter(meter_pids or {}).start()
        total = int(rate * seconds)
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            result.lag_max = max(result.lag_max, time.perf_counter() - due)
            tasks.append(asyncio.ensure_future(fetch(session, url, result, due)))
        await asyncio.gather(*tasks)
        result.elapsed = time.perf_counter() - start
        result.cpu = meter.stop()
        result.connections = opened[0]
    return result


async def check_endpoints(base: str) -> None:
    """Fail early, with the reason, if an endpoint does not answer as the benchmark expects."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session:
        async with session.get(base + COINS) as response:
            body = await response.read()
            if response.status != 200:
                raise StackError(f"GET {COINS} answered {response.status}: {body[:300]!r}")
            data = orjson.loads(body)
            count = len(data.get("results", data) if isinstance(data, dict) else data)
            log(f"GET {COINS}: 200, {count} coins, {len(body):,} bytes")
        async with session.get(base + MINIMAL) as response:
            body = await response.read()
            if response.status != 200:
                raise StackError(f"GET {MINIMAL} answered {response.status}: {body[:300]!r}")
            log(f"GET {MINIMAL}: 200, {len(body)} bytes")


def latency_rows(results: list[Result], *, rate_column: str) -> list[list[str]]:
    rows = []
    for r in results:
        rows.append(
            [
                r.label,
                fmt(r.rps if rate_column == "rps" else r.ok / r.elapsed, 1),
                f"{r.ok:,}",
                str(r.errors) + (f" {r.error_kinds}" if r.errors else ""),
                fmt(r.pct(50), 1),
                fmt(r.pct(95), 1),
                fmt(r.pct(99), 1),
                fmt(max(r.latencies) * 1000 if r.latencies else math.nan, 1),
            ]
        )
    return rows


CPU_PER_REQUEST = "daphne CPU ms/request"


def cpu_headers(results: list[Result]) -> list[str]:
    return ["endpoint", *(results[0].cpu if results else ()), CPU_PER_REQUEST]


def cpu_rows(results: list[Result]) -> list[list[str]]:
    """CPU shares, and daphne's CPU time per answered request (robust to other load on the machine)."""
    names = list(results[0].cpu) if results else []
    rows = []
    for r in results:
        per_request = r.cpu.get("daphne", math.nan) / 100 * r.elapsed / r.ok * 1000 if r.ok else math.nan
        rows.append([r.label, *(fmt(r.cpu.get(n, math.nan), 0) for n in names), fmt(per_request, 2)])
    return rows


async def run(args: argparse.Namespace, stack: Stack) -> bool:
    base = stack.base_url
    pids = stack.server_pids()
    await check_endpoints(base)

    closed: list[Result] = []
    profiles: list[tuple[str, str]] = []
    for path in (COINS, MINIMAL):
        log(f"closed loop {path}: warm-up {args.warmup:.0f} s")
        await closed_loop(base, path, clients=args.clients, seconds=args.warmup, meter_pids=None)
        log(f"closed loop {path}: {args.clients} clients for {args.seconds:.0f} s")
        profile = None
        if args.py_spy:
            name = "coins" if path == COINS else "minimal"
            profile = Profile(args.py_spy, stack.pid("daphne"), args.seconds, stack.workdir / f"daphne-{name}.txt")
        closed.append(await closed_loop(base, path, clients=args.clients, seconds=args.seconds, meter_pids=pids))
        if profile:
            profiles.append((path, await asyncio.to_thread(profile.summary)))
        log(f"  {closed[-1].rps:,.0f} req/s, p95 {closed[-1].pct(95):.1f} ms, {closed[-1].errors} errors")
    coins, minimal = closed
    ratio = coins.rps / minimal.rps if minimal.rps else math.nan

    if args.rate:
        rates = [(args.rate, "--rate given on the command line")]
    else:
        half = max(10, round(minimal.rps / 2))
        rates = [(half, f"about half the measured minimal-view throughput ({minimal.rps:,.0f} req/s)")]
        if abs(half - 100) > 20:
            rates.insert(0, (100, "fixed reference rate"))
    opened: list[tuple[float, str, list[Result]]] = []
    for rate, why in rates:
        results = []
        for path in (COINS, MINIMAL):
            log(f"open loop {path}: {rate} req/s, warm-up {args.open_warmup:.0f} s")
            await open_loop(base, path, rate=rate, seconds=args.open_warmup, meter_pids=None)
            log(f"open loop {path}: {rate} req/s for {args.open_seconds:.0f} s")
            results.append(await open_loop(base, path, rate=rate, seconds=args.open_seconds, meter_pids=pids))
            log(f"  p95 {results[-1].pct(95):.1f} ms, {results[-1].errors} errors")
        opened.append((rate, why, results))

    dead = stack.check_alive()
    headers = ["endpoint", "req/s", "ok", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    print()
    print("=" * 100)
    print(f"Scalpaiboard API benchmark - {stack.mode}, one daphne at {base}")
    print(
        f"client: aiohttp {aiohttp.__version__} on {args.loop}, separate process; bodies read as bytes, "
        f"not parsed; request timeout {REQUEST_TIMEOUT:.0f} s"
    )
    print(f"daphne access log: {'on (as `make run`)' if args.access_log else 'off (-v 0)'}")
    print(f"machine busy before the stack started (other people's work): {args.background:.0f} % of all cores")
    print("=" * 100)
    print()
    print(
        f"1. Throughput at fixed concurrency: {args.clients} keep-alive clients, "
        f"{args.warmup:.0f} s warm-up then {args.seconds:.0f} s each"
    )
    print(table(headers, latency_rows(closed, rate_column="rps")))
    print(f"connections opened: coins {coins.connections}, minimal {minimal.connections} (keep-alive)")
    print()
    print("CPU during the measurement, % of one core (machine: % of all cores)")
    print(table(cpu_headers(closed), cpu_rows(closed)))
    print()
    print(f"coins/minimal throughput ratio: {ratio:.2f}")
    print()
    for rate, why, results in opened:
        print(
            f"2. Latency at a fixed rate (open loop): {rate} req/s ({why}), {args.open_seconds:.0f} s each, "
            "latency from the time each request was due"
        )
        print(table(headers, latency_rows(results, rate_column="achieved")))
        print(
            "load generator: worst lag between a request's due time and its sending: "
            + ", ".join(f"{r.label} {r.lag_max * 1000:.1f} ms" for r in results)
        )
        print(table(cpu_headers(results), cpu_rows(results)))
        print()

    for path, summary in profiles:
        print(f"py-spy profile of daphne during the closed-loop run of {path} (100 Hz, samples holding the GIL)")
        print(summary)
        print()

    aims = [
        (f"p95 under {P95_AIM_MS:.0f} ms with {args.clients} clients, coins", coins.pct(95) < P95_AIM_MS),
        (f"p95 under {P95_AIM_MS:.0f} ms with {args.clients} clients, minimal", minimal.pct(95) < P95_AIM_MS),
        (f"coins throughput >= {RATIO_AIM:.0%} of minimal (ratio {ratio:.2f})", ratio >= RATIO_AIM),
        ("no request errors", all(r.errors == 0 for r in closed + [r for *_, rs in opened for r in rs])),
        ("stack processes alive at the end", not dead),
    ]
    print("Aims")
    print(table(["aim", "result"], [[name, verdict(ok)] for name, ok in aims]))
    if dead:
        print(f"exited during the run: {', '.join(dead)}")
    print()
    return all(ok for _, ok in aims)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100, help="concurrent keep-alive clients (100)")
    parser.add_argument("--seconds", type=float, default=20.0, help="closed-loop measurement per endpoint (20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="closed-loop warm-up per endpoint (3)")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="open-loop rate in req/s (default: half the measured minimal-view throughput, plus 100 req/s)",
    )
    parser.add_argument("--open-seconds", type=float, default=15.0, help="open-loop measurement per endpoint (15)")
    parser.add_argument("--open-warmup", type=float, default=2.0, help="open-loop warm-up per endpoint (2)")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false", help="run daphne with -v 0")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="auto",
        default=None,
        metavar="PY_SPY",
        help="profile daphne with py-spy during the closed-loop runs (path to py-spy, or found on PATH, "
        "$BENCH_PY_SPY or /tmp/venv-tools/bin)",
    )
    parser.add_argument(
        "--asgi-app",
        default="scalpaiboard.asgi:application",
        help="ASGI application daphne serves, for A/B experiments (module importable through PYTHONPATH)",
    )
    parser.add_argument("--port", type=int, default=None, help="daphne port (default: a free one)")
    parser.add_argument(
        "--embedded", action="store_true", help="benchmark the embedded mode (SQLite, no Redis) as `make run` serves it"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when an aim is missed")
    args = parser.parse_args()
    args.loop = use_uvloop()
    args.py_spy = None
    if args.profile:
        args.py_spy = find_py_spy(None if args.profile == "auto" else args.profile)
        if not args.py_spy:
            log(
                "py-spy not found; install it outside the project venv: "
                "python3 -m venv /tmp/venv-tools && /tmp/venv-tools/bin/pip install py-spy"
            )
            return 2
    args.background = machine_busy()

    try:
        stack = Stack(port=args.port, access_log=args.access_log, application=args.asgi_app, embedded=args.embedded)
        with stack:
            met = asyncio.run(run(args, stack))
    except StackError as error:
        log(f"stack error: {error}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
