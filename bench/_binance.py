"""Helpers of the Binance benchmarks: the imitation in a process of its own, a scratch database, figures.

The imitation (``markets.tests.binance_imitation``) is started as a child process so that it does
not share the interpreter with what is measured; its ``/_imitation/stats`` (not a Binance path)
reports every request it served. The scratch PostgreSQL database ``bench_binance`` is created,
migrated, and dropped at the end; Redis keys go under the prefix ``bench-binance`` in database 5.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "bench_binance"
DATABASE_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
REDIS_URL = "redis://127.0.0.1:6379/5"
REDIS_PREFIX = "bench-binance"
VAR_DIR = Path(tempfile.gettempdir()) / "bench-binance"


def log(message: str) -> None:
    """Progress on stderr; stdout holds the figures."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def environment(**extra: str) -> dict[str, str]:
    """What the project's processes read: the scratch stores, full-stack mode."""
    VAR_DIR.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER",)}
    env.update(
        DJANGO_SETTINGS_MODULE="scalpaiboard.settings",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        REDIS_PREFIX=REDIS_PREFIX,
        FEED_EMBEDDED="false",
        SECRET_KEY="bench-binance-not-secret",
        VAR_DIR=str(VAR_DIR),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def imitation(*args: str) -> Iterator[str]:
    """Run the imitation with ``args``; yield its base URL (http://127.0.0.1:<port>).

    Its process id is ``imitation.pid`` while it runs.
    """
    process = subprocess.Popen(
        [PYTHON, "-m", "markets.tests.binance_imitation", *args],
        cwd=ROOT,
        env=environment(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError(f"the imitation did not start: {line!r}")
        imitation.pid = process.pid
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def imitation_stats(rest_url: str) -> dict:
    return httpx.get(f"{rest_url}/_imitation/stats", timeout=30).json()


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """Create and migrate ``bench_binance``; drop it afterwards (BENCH_KEEP_DB=1 keeps it)."""
    _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{DB_NAME}"')
    try:
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment(), check=True
        )
        yield DATABASE_URL
    finally:
        if not os.environ.get("BENCH_KEEP_DB"):
            _admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def _admin(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(PG_ADMIN_URL)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def redis_reset() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{REDIS_PREFIX}*"):
        client.delete(key)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (/proc/stat), all cores."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"), sum(fields) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
