"""Tick-to-client latency on /ws: 1,000 clients subscribed to every coin, one daphne, on the full stack
(Redis channel layer, ``run_feed``) or, with ``--embedded``, as ``make run`` serves (the feed inside daphne).

The feed (``manage.py run_feed``, simulated exchange) publishes one batch a second with every coin.
Each server message is ``{"type": "tickers", "data": [{..., "ts": <exchange ms>}, ...]}``. Latency is
the wall-clock time at which the client's event loop got the message minus the newest ``ts`` in it
(``max(item.ts)``; the simulated exchange stamps every item of a batch with the same ``ts``, and the
script counts batches where they differ). Server and clients share the machine's clock.

First a baseline with one client, then the full load: several client processes (4 x 250
connections by default) connect, subscribe with ``{"action": "subscribe", "symbols": "*"}`` and wait
for the acknowledgement; once every client is subscribed, 30 s are measured.

Run from the project root: ``.venv/bin/python bench/ws_latency.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import statistics
import sys
import threading
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import (
    REDIS_PREFIX,
    REDIS_URL,
    CpuMeter,
    Profile,
    Stack,
    StackError,
    die_with_parent,
    find_py_spy,
    fmt,
    log,
    machine_busy,
    percentile,
    table,
    use_uvloop,
    verdict,
)

P99_AIM_MS = 250.0
SUBSCRIBE = '{"action": "subscribe", "symbols": "*"}'
CONNECT_TIMEOUT = 60.0
LATE_GRACE = 5.0  # how long after the window a batch ticked in it may still arrive
PHASE_TIMEOUT = 180.0


# --- client processes ----------------------------------------------------------------------------


class Client:
    """One /ws connection and what it saw during the measured window."""

    __slots__ = ("closed_by_server", "error", "index", "messages", "ws")

    def __init__(self, index: int):
        self.index = index
        self.ws = None
        self.messages = 0
        self.closed_by_server = False
        self.error = ""


async def _client_worker(url: str, count: int, connect_parallel: int, conn) -> None:
    import aiohttp
    import orjson

    loop = asyncio.get_running_loop()
    window = [math.inf, math.inf]  # start, end (epoch s) of the batches (by tick ts) that are counted
    latencies = array("d")  # ms, newest ts per message
    oldest = array("d")  # ms, oldest ts per message
    batch = array("q")  # newest ts of each message, to line messages up by batch
    mixed = [0]  # messages whose items carry different ts
    other = {"error": 0, "ticker": 0, "other": 0}
    stopping = [False]
    clients = [Client(i) for i in range(count)]
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def read(client: Client) -> None:
        ws = client.ws
        while True:
            msg = await ws.receive()
            received = time.time()
            if msg.type == aiohttp.WSMsgType.TEXT:
                data = orjson.loads(msg.data)
                kind = data.get("type")
                if kind == "tickers":
                    stamps_here = [item["ts"] for item in data["data"]]
                elif kind == "ticker":
                    stamps_here = [data["ts"]]
                else:
                    if received >= window[0]:
                        other["error" if kind == "error" else "other"] += 1
                    continue
                newest, first = max(stamps_here), min(stamps_here)
                if not window[0] <= newest / 1000 < window[1]:
                    continue  # the window is on the tick's time: every batch ticked in it, to every client
                latencies.append(received * 1000 - newest)
                oldest.append(received * 1000 - first)
                batch.append(newest)
                if newest != first:
                    mixed[0] += 1
                client.messages += 1
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                if not stopping[0]:
                    client.closed_by_server = True
                    client.error = f"closed by server (code {ws.close_code})"
                return
            elif msg.type == aiohttp.WSMsgType.ERROR:
                if not stopping[0]:
                    client.closed_by_server = True
                    client.error = f"error: {ws.exception()!r}"
                return

    limiter = asyncio.Semaphore(connect_parallel)
    readers: list[asyncio.Task] = []

    async def connect(client: Client) -> None:
        async with limiter:
            try:
                ws = await session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5), autoping=True)
                await ws.send_str(SUBSCRIBE)
                while True:
                    ack = await asyncio.wait_for(ws.receive(), CONNECT_TIMEOUT)
                    if ack.type != aiohttp.WSMsgType.TEXT:
                        raise ConnectionError(f"socket closed before the subscription was acknowledged: {ack.type}")
                    if orjson.loads(ack.data).get("type") == "subscribed":
                        break
                client.ws = ws
                readers.append(asyncio.ensure_future(read(client)))
            except Exception as error:
                client.error = f"connect/subscribe failed: {type(error).__name__}: {error}"

    async def recv() -> object:
        return await loop.run_in_executor(None, conn.recv)

    try:
        started = time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(connect(c) for c in clients)), PHASE_TIMEOUT)
        failed = [c.error for c in clients if c.ws is None]
        conn.send(("ready", count - len(failed), failed[:5], time.monotonic() - started))
        command = await recv()
        if command[0] != "go":
            return
        window[0], window[1] = command[1], command[2]
        cpu_before = time.process_time()
        # Measure until the window (plus grace) is over, unless the parent says stop (or goes away).
        stop = asyncio.ensure_future(recv())
        await asyncio.wait({stop}, timeout=max(0.0, window[1] - time.time()) + LATE_GRACE)
        if stop.done():
            return
        cpu = time.process_time() - cpu_before
        conn.send(
            (
                "result",
                {
                    "latencies": latencies.tobytes(),
                    "oldest": oldest.tobytes(),
                    "per_client": [c.messages for c in clients if c.ws is not None],
                    "dropped": [c.error for c in clients if c.ws is not None and c.closed_by_server],
                    "connect_failed": len(failed),
                    "batch": batch.tobytes(),
                    "mixed": mixed[0],
                    "other": other,
                    "cpu_seconds": cpu,
                    "window": window[1] - window[0],
                },
            )
        )
        await stop
    finally:
        stopping[0] = True
        for task in readers:
            task.cancel()
        await asyncio.gather(*(c.ws.close() for c in clients if c.ws is not None), return_exceptions=True)
        await session.close()


def client_process(url: str, count: int, connect_parallel: int, conn) -> None:
    """Entry point of a client process: exits when the parent goes away."""
    die_with_parent()
    use_uvloop()
    with contextlib.suppress(EOFError, BrokenPipeError, KeyboardInterrupt):
        asyncio.run(_client_worker(url, count, connect_parallel, conn))


# --- the parent ----------------------------------------------------------------------------------


class PublishProbe(threading.Thread):
    """Listens on the Redis pub/sub channel of the "prices" group: when did the feed publish each batch?

    channels_redis's RedisPubSubChannelLayer publishes a group message on ``<prefix>__group__<group>``
    (prefix ``bench:ws`` here); the payload is msgpack. This splits the latency into the feed's part
    (tick ts -> published on Redis) and the server's part (published -> received by the clients).
    """

    def __init__(self):
        super().__init__(name="publish-probe", daemon=True)
        self.published: dict[int, float] = {}  # batch ts (ms) -> epoch s when Redis delivered it to us
        self.sizes: list[int] = []
        self.errors = 0
        self.stopping = threading.Event()
        self.subscribed = threading.Event()

    def run(self) -> None:
        import msgpack
        import orjson
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.psubscribe(f"{REDIS_PREFIX}*__group__prices")
            self.subscribed.set()
            while not self.stopping.is_set():
                message = pubsub.get_message(timeout=0.2)
                if not message or message["type"] != "pmessage":
                    continue
                received = time.time()
                try:
                    event = msgpack.unpackb(message["data"])
                    ts = max(orjson.loads(part)["ts"] for part in event["json"])
                except Exception:
                    self.errors += 1
                    continue
                self.published[ts] = received
                self.sizes.append(len(message["data"]))
        finally:
            self.subscribed.set()
            pubsub.close()
            client.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)


class Phase:
    """A group of client processes measured together."""

    def __init__(self, name: str, url: str, processes: int, per_process: int, connect_parallel: int):
        self.name = name
        self.clients = processes * per_process
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for i in range(processes):
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(
                target=client_process,
                args=(url, per_process, connect_parallel, child_end),
                name=f"ws-clients-{name}-{i}",
                daemon=True,
            )
            proc.start()
            child_end.close()
            self.pipes.append(parent_end)
            self.procs.append(proc)

    def _gather(self, kind: str, timeout: float) -> list:
        out = []
        deadline = time.monotonic() + timeout
        for pipe, proc in zip(self.pipes, self.procs, strict=True):
            while not pipe.poll(0.5):
                if not proc.is_alive():
                    raise RuntimeError(f"{proc.name} exited ({proc.exitcode}) before sending '{kind}'")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{proc.name} sent no '{kind}' within {timeout:.0f} s")
            message = pipe.recv()
            if message[0] != kind:
                raise RuntimeError(f"{proc.name} sent {message[0]!r}, expected {kind!r}")
            out.append(message[1:])
        return out

    def ready(self) -> tuple[int, list[str], float]:
        answers = self._gather("ready", PHASE_TIMEOUT + 30)
        connected = sum(a[0] for a in answers)
        errors = [e for a in answers for e in a[1]]
        return connected, errors, max(a[2] for a in answers)

    def run(self, seconds: float, pids: dict[str, int], profile: Profile | None = None) -> dict:
        start = time.time() + 0.5
        for pipe in self.pipes:
            pipe.send(("go", start, start + seconds))
        time.sleep(0.5)
        meter = CpuMeter(pids).start()
        time.sleep(seconds)
        cpu = meter.stop()
        results = [r[0] for r in self._gather("result", seconds + LATE_GRACE + 60)]
        latencies, oldest, batch = array("d"), array("d"), array("q")
        for r in results:
            latencies.frombytes(r["latencies"])
            oldest.frombytes(r["oldest"])
            batch.frombytes(r["batch"])
        span = seconds + LATE_GRACE
        cpu["ws clients (sum)"] = 100 * sum(r["cpu_seconds"] for r in results) / span
        cpu["ws client process (max)"] = 100 * max(r["cpu_seconds"] for r in results) / span
        cpu.pop("load generator", None)
        by_batch: dict[int, list[float]] = {}
        for ts, latency in zip(batch, latencies, strict=True):
            by_batch.setdefault(ts, []).append(latency)
        return {
            "latencies": sorted(latencies),
            "oldest": sorted(oldest),
            "by_batch": by_batch,
            "per_client": [n for r in results for n in r["per_client"]],
            "dropped": [d for r in results for d in r["dropped"]],
            "connect_failed": sum(r["connect_failed"] for r in results),
            "batches": len(by_batch),
            "mixed": sum(r["mixed"] for r in results),
            "other": {k: sum(r["other"][k] for r in results) for k in results[0]["other"]},
            "cpu": cpu,
            "profile": profile.summary() if profile else None,
        }

    def stop(self, grace: float = 15.0) -> None:
        """Ask every client process to close its sockets and exit; terminate, then kill, the laggards."""
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop",))
        deadline = time.monotonic() + grace
        for proc in self.procs:
            proc.join(max(0.1, deadline - time.monotonic()))
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for pipe in self.pipes:
            pipe.close()


def measure(args, stack: Stack, name: str, processes: int, per_process: int, seconds: float) -> dict:
    phase = Phase(name, stack.ws_url, processes, per_process, args.connect_parallel)
    try:
        log(f"{name}: connecting {phase.clients} client(s) in {processes} process(es)")
        connected, errors, took = phase.ready()
        log(
            f"{name}: {connected}/{phase.clients} subscribed in {took:.1f} s"
            + (f"; e.g. {errors[0]}" if errors else "")
        )
        if connected == 0:
            raise RuntimeError(f"no client could connect and subscribe: {errors[:3]}")
        log(f"{name}: measuring {seconds:.0f} s")
        profile = None
        if args.py_spy and name == "load":
            profile = Profile(args.py_spy, stack.pid("daphne"), seconds, stack.workdir / "daphne-ws.txt")
        result = phase.run(seconds, stack.server_pids(), profile)
    finally:
        phase.stop()
    result.update(name=name, clients=phase.clients, connected=connected, connect_seconds=took, seconds=seconds)
    lat = result["latencies"]
    log(f"{name}: {len(lat)} messages, p99 {percentile(lat, 99):.1f} ms")
    return result


def decomposition(r: dict, published: dict[int, float]) -> list[list[str]]:
    """Per batch: tick -> Redis publish (feed), -> first client, -> median client, -> last client."""
    feed, first, middle, last, spread = [], [], [], [], []
    for ts, latencies in r["by_batch"].items():
        latencies = sorted(latencies)
        first.append(latencies[0])
        middle.append(percentile(latencies, 50))
        last.append(latencies[-1])
        spread.append(latencies[-1] - latencies[0])
        if ts in published:
            feed.append(published[ts] * 1000 - ts)
    rows = []
    for label, values in (
        ("tick ts -> published on Redis (feed)", feed),
        ("tick ts -> first client", first),
        ("tick ts -> median client", middle),
        ("tick ts -> last client", last),
        ("first -> last client (fan-out spread)", spread),
    ):
        values = sorted(values)
        rows.append(
            [
                f"{r['name']}: {label}",
                str(len(values)),
                fmt(percentile(values, 50)),
                fmt(percentile(values, 90)),
                fmt(values[-1] if values else math.nan),
            ]
        )
    return rows


def report(args, results: list[dict], dead: list[str], probe: PublishProbe, background: float, mode: str) -> bool:
    print()
    print("=" * 100)
    print(f"Scalpaiboard /ws tick-to-client latency - one daphne, {mode}, simulated exchange")
    print("latency = client receipt time (time.time() when the client's event loop got the frame)")
    print("          - newest item ts in the message; same machine, same clock")
    print(f"clients: aiohttp on {args.loop}, orjson; subscription {SUBSCRIBE}")
    print(f"daphne access log: {'on (as `make run`)' if args.access_log else 'off (-v 0)'}")
    print(f"machine busy before the stack started (other people's work): {background:.0f} % of all cores")
    print("=" * 100)
    print()
    rows = []
    for r in results:
        lat = r["latencies"]
        rows.append(
            [
                f"{r['name']} ({r['clients']} client{'s' if r['clients'] != 1 else ''})",
                f"{len(lat):,}",
                fmt(percentile(lat, 50)),
                fmt(percentile(lat, 95)),
                fmt(percentile(lat, 99)),
                fmt(lat[-1] if lat else math.nan),
                fmt(percentile(r["oldest"], 99)),
            ]
        )
    print("Latency, ms (per message; last column: p99 measured from the OLDEST item ts in each message)")
    print(table(["run", "messages", "p50", "p95", "p99", "max", "p99 oldest"], rows))
    print()
    print("Where the time goes, ms, per batch (p50 / p90 / worst over the batches of the window)")
    rows = [row for r in results for row in decomposition(r, probe.published)]
    print(table(["run: stage", "batches", "p50", "p90", "max"], rows))
    if not probe.is_alive() and not probe.published:
        print("(embedded: the feed publishes inside daphne, with no Redis to observe, so its part is not split out)")
    if probe.sizes:
        print(
            f"group message on Redis ('prices', JSON): {statistics.median(probe.sizes):,.0f} bytes (msgpack); "
            f"probe decode errors: {probe.errors}"
        )
    print()
    rows = []
    for r in results:
        per = sorted(r["per_client"])
        rows.append(
            [
                r["name"],
                f"{r['seconds']:.0f} s",
                str(r["batches"]),
                str(per[0]) if per else "-",
                fmt(statistics.median(per), 1) if per else "-",
                str(per[-1]) if per else "-",
                f"{r['connected']}/{r['clients']}",
                str(len(r["dropped"])),
                str(sum(1 for n in per if n == 0)),
                f"{r['connect_seconds']:.1f} s",
            ]
        )
    print("Messages received per client during the window, and clients lost")
    headers = ["run", "window", "batches", "min/client", "median", "max", "subscribed", "dropped", "got none"]
    print(table([*headers, "connect time"], rows))
    for r in results:
        if r["dropped"]:
            print(f"{r['name']}: dropped clients, e.g. {r['dropped'][:3]}")
        if r["mixed"]:
            print(f"{r['name']}: {r['mixed']} messages carried items with different ts")
        if any(r["other"].values()):
            print(f"{r['name']}: other messages in the window: {r['other']}")
    print(
        f"('batches' = distinct batches ticked in the window that any client received; each client is given "
        f"{LATE_GRACE:.0f} s after the window for the last ones)"
    )
    print()
    names = list(results[-1]["cpu"])
    print("CPU during the window, % of one core (machine: % of all cores); daphne CPU per message delivered")
    rows = []
    for r in results:
        delivered = len(r["latencies"])
        per_message = r["cpu"].get("daphne", math.nan) / 100 * r["seconds"] / delivered * 1e6 if delivered else math.nan
        rows.append([r["name"], *(fmt(r["cpu"].get(n, math.nan), 0) for n in names), fmt(per_message, 0)])
    print(table(["run", *names, "daphne CPU us/message"], rows))
    print()
    for r in results:
        if r.get("profile"):
            print(f"py-spy profile of daphne during the {r['name']} window (100 Hz, samples holding the GIL)")
            print(r["profile"])
            print()
    load = results[-1]
    p99 = percentile(load["latencies"], 99)
    per = load["per_client"]
    aims = [
        (f"p99 under {P99_AIM_MS:.0f} ms with {load['clients']} clients (p99 {p99:.1f} ms)", p99 < P99_AIM_MS),
        (
            "no client dropped or failed to connect",
            not load["dropped"] and load["connected"] == load["clients"] and not load["connect_failed"],
        ),
        ("every client got every batch", bool(per) and min(per) >= load["batches"] > 0),
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
    parser.add_argument("--processes", type=int, default=4, help="client processes (4)")
    parser.add_argument("--per-process", type=int, default=250, help="connections per client process (250)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured window with all clients (30)")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="measured window with 1 client (15)")
    parser.add_argument("--connect-parallel", type=int, default=10, help="handshakes in flight per process (10)")
    parser.add_argument("--no-access-log", dest="access_log", action="store_false", help="run daphne with -v 0")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="auto",
        default=None,
        metavar="PY_SPY",
        help="profile daphne with py-spy during the load window (path to py-spy, or found on PATH, "
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

    background = machine_busy()
    probe = PublishProbe()
    try:
        stack = Stack(port=args.port, access_log=args.access_log, application=args.asgi_app, embedded=args.embedded)
        with stack:
            if not args.embedded:
                probe.start()
                probe.subscribed.wait(10)
            results = [measure(args, stack, "baseline", 1, 1, args.baseline_seconds)]
            results.append(measure(args, stack, "load", args.processes, args.per_process, args.seconds))
            met = report(args, results, stack.check_alive(), probe, background, stack.mode)
    except StackError as error:
        log(f"stack error: {error}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except RuntimeError as error:
        log(f"benchmark failed: {error}")
        return 3
    finally:
        if probe.is_alive():
            probe.stop()
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
