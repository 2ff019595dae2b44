"""Per-request CPU of the Django ASGI application alone: no daphne, no sockets, no load generator.

On a shared 2-core machine throughput figures move with other people's work; CPU time per request
barely does. This calls the ASGI application directly (the same scope daphne builds) for
``/api/health/live`` and ``/api/coins?limit=100`` at concurrency 1 and 100, and reports requests/s
and CPU milliseconds per request for each application given (default: the project's), against the
same scratch stack as the benchmarks (run_feed publishing, PostgreSQL, Redis). It also counts how
often the coins list is rendered per market version (the feed bumps the version once a second;
the cached list should be rendered about once per version).

    .venv/bin/python bench/experiments/inprocess.py
    .venv/bin/python bench/experiments/inprocess.py scalpaiboard.asgi some.other.module
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _stack import PYTHON, Stack, StackError, die_with_parent, log, table  # noqa: E402

CASES = (("/api/health/live", b""), ("/api/coins", b"limit=100"))


async def call(app, path: str, query: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }
    given = False
    status = [0]

    async def receive():
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # no disconnect: the response ends the request

    async def send(message):
        if message["type"] == "http.response.start":
            status[0] = message["status"]

    await app(scope, receive, send)
    return status[0]


async def measure(app, seconds: float, renders: list[int]) -> list[list[str]]:
    from markets.snapshot import market_version

    rows = []
    for path, query in CASES:
        if await call(app, path, query) != 200:
            raise SystemExit(f"{path} did not answer 200")
        for concurrency in (1, 100):
            renders[0] = 0
            version = market_version()
            done = [0]
            deadline = time.perf_counter() + seconds
            started, cpu = time.perf_counter(), time.process_time()

            async def worker(path=path, query=query, deadline=deadline, done=done):
                while time.perf_counter() < deadline:
                    await call(app, path, query)
                    done[0] += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            versions = max(1, round((market_version() - version) / 1000))
            rows.append(
                [
                    f"{path} x{concurrency}",
                    f"{done[0] / wall:,.0f}",
                    f"{1000 * cpu / done[0]:.2f}",
                    f"{renders[0] / versions:.1f}" if path == "/api/coins" else "-",
                ]
            )
    return rows


def child(module: str, seconds: float) -> None:
    """Runs in a subprocess with the stack's environment: import the app, measure, print a table."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scalpaiboard.settings")
    import django

    django.setup()
    from markets.api.views import CoinViewSet

    renders = [0]
    lock = threading.Lock()
    original = CoinViewSet.list

    def counted(self, *args, **kwargs):
        with lock:
            renders[0] += 1
        return original(self, *args, **kwargs)

    CoinViewSet.list = counted
    app = importlib.import_module(module).application
    rows = asyncio.run(measure(app, seconds, renders))
    print(f"application {module}")
    print(table(["request x concurrency", "req/s", "CPU ms/req", "coins renders/version"], rows))
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", default=["scalpaiboard.asgi"], help="modules with an `application`")
    parser.add_argument("--seconds", type=float, default=8.0, help="per endpoint and concurrency (8)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds)
        return 0
    try:
        with Stack() as stack:
            env = dict(stack.env, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
            for module in args.modules:
                log(f"measuring {module} in-process")
                subprocess.run(
                    [PYTHON, __file__, "--child", module, "--seconds", str(args.seconds)],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    timeout=60 + 6 * args.seconds,
                    preexec_fn=die_with_parent,
                )
    except (StackError, subprocess.SubprocessError) as error:
        log(f"failed: {error}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
