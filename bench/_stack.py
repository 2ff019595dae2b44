"""Shared helpers of the benchmarks: the stack under test in scratch stores, and the figures.

``Stack`` brings up one of the two modes and tears it down again. Full stack: a scratch PostgreSQL
database with ``migrate`` and ``market_load``, ``manage.py run_feed`` and one ``daphne`` on a free
port with the Redis channel layer. Embedded (``embedded=True``): SQLite in a temporary ``VAR_DIR``,
no Redis, no broker, loaded the same way, then the server started as ``make run`` starts it (the
feed runs inside it). Either way it waits until ``GET /api/health`` says "ok", and tears down on
leaving the ``with`` block, at interpreter exit (atexit), on SIGINT/SIGTERM/SIGHUP, and, through
PR_SET_PDEATHSIG, even when the benchmark itself is killed with SIGKILL. Each child runs in its own
process group and only those groups are signalled.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent

DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_scalpaiboard")
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME
REDIS_URL = "redis://127.0.0.1:6379/3"
REDIS_PREFIX = "bench"
CELERY_BROKER_URL = "redis://127.0.0.1:6379/4"
# What selects the full stack; the embedded mode runs with none of them set.
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "CELERY_BROKER_URL", "FEED_EMBEDDED")

_PR_SET_PDEATHSIG = 1


def log(message: str) -> None:
    """Progress goes to stderr, so that stdout holds the figures only."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (also after a SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def use_uvloop() -> str:
    """Install uvloop's event loop policy when it is available; returns which loop is used."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    import asyncio
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return f"uvloop {uvloop.__version__}"


def free_port() -> int:
    """A TCP port nobody listens on (never 8000, where a developer's server may run)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 8000:
            return port


# --- CPU accounting ---------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / _TICKS


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


class CpuMeter:
    """CPU use of some processes and of the machine between ``start()`` and ``stop()``."""

    def __init__(self, pids: dict[str, int]):
        self.pids = pids
        self.figures: dict[str, float] = {}

    def start(self) -> CpuMeter:
        self._wall = time.monotonic()
        self._proc = {name: process_cpu_seconds(pid) for name, pid in self.pids.items()}
        self._self = time.process_time()
        self._system = system_cpu()
        return self

    def stop(self) -> dict[str, float]:
        """Percent of one core per process, and of the whole machine (all cores = 100 %)."""
        wall = time.monotonic() - self._wall
        out = {name: 100 * (process_cpu_seconds(pid) - self._proc[name]) / wall for name, pid in self.pids.items()}
        out["load generator"] = 100 * (time.process_time() - self._self) / wall
        busy, total = system_cpu()
        out["machine (all cores)"] = 100 * (busy - self._system[0]) / max(1, total - self._system[1])
        self.figures = out
        return out


# --- figures ----------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (0..100) of already sorted values; NaN when empty."""
    if not sorted_values:
        return math.nan
    k = (len(sorted_values) - 1) * p / 100
    low = math.floor(k)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (k - low)


def fmt(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


# --- the stack ----------------------------------------------------------------------------------


class StackError(RuntimeError):
    """The stack could not be brought up; the message says which step failed."""


class Stack:
    """Full stack (PostgreSQL, Redis db 3, ``run_feed``, one ``daphne``) or embedded (SQLite, the
    server as ``make run`` starts it); see the module doc."""

    def __init__(
        self,
        *,
        port: int | None = None,
        access_log: bool = True,
        keep_db: bool = False,
        application: str = "scalpaiboard.asgi:application",
        embedded: bool = False,
    ):
        if embedded and application != "scalpaiboard.asgi:application":
            raise StackError("another ASGI application can only be served by the full stack")
        self.embedded = embedded
        self.port = port or free_port()
        self.application = application
        self.access_log = access_log
        self.keep_db = keep_db or os.environ.get("BENCH_KEEP_DB") == "1"
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-scalpaiboard-"))
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: list = []
        self._owner = os.getpid()
        self._stopped = False
        self._db_created = False
        self.env = self._environment()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def mode(self) -> str:
        if self.embedded:
            return "embedded (SQLite, in-memory layer and cache, feed inside the server)"
        return "full stack (PostgreSQL, Redis)"

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def server_pids(self) -> dict[str, int]:
        """The processes that serve and feed: daphne, and run_feed in the full stack."""
        names = {"daphne": "daphne", "feed": "run_feed"}
        return {label: self.procs[name].pid for name, label in names.items() if name in self.procs}

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER" and k not in SERVICE_VARS}
        if not self.embedded:
            env.update(
                {
                    "DATABASE_URL": PG_URL,
                    "REDIS_URL": REDIS_URL,
                    "REDIS_PREFIX": REDIS_PREFIX,
                    "CELERY_BROKER_URL": CELERY_BROKER_URL,
                    "FEED_EMBEDDED": "false",
                }
            )
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "scalpaiboard.settings",
                "MARKET_SOURCE": "simulated",
                "DEBUG": "false",
                # The benchmarks send thousands of requests a second from one address.
                "RATE_LIMIT_RPM": "0",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "VAR_DIR": str(self.workdir / "var"),
                # A thousand benchmark clients come from one address: lift the per-address socket cap.
                "WS_MAX_SOCKETS_PER_ADDRESS": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # -- lifecycle --

    def __enter__(self) -> Stack:
        _install_signal_handlers()
        atexit.register(self.stop)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        log(f"logs and scratch files in {self.workdir}; {self.mode}")
        if not self.embedded:
            self._reset_redis()
            self._recreate_database()
        started = time.monotonic()
        self._manage("migrate", "--noinput", "-v", "0", timeout=300)
        log(f"migrated {'SQLite' if self.embedded else DB_NAME} in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        self._manage("market_load", timeout=600)
        log(f"market_load (full history) in {time.monotonic() - started:.1f} s")
        quiet = [] if self.access_log else ["-v", "0"]
        if self.embedded:
            # As `make run` serves: the launcher (its set-up steps now have nothing to do), daphne inside.
            self._spawn("daphne", [PYTHON, "-m", "scalpaiboard.launcher", "--port", str(self.port), *quiet])
        else:
            self._spawn("feed", [PYTHON, "manage.py", "run_feed"])
            daphne = [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port)]
            self._spawn("daphne", [*daphne, *quiet, self.application])
        self._wait_healthy(timeout=120)

    def _manage(self, *args: str, timeout: float) -> None:
        path = self.workdir / f"{args[0]}.log"
        with path.open("wb") as out:
            try:
                result = subprocess.run(
                    [PYTHON, "manage.py", *args],
                    cwd=ROOT,
                    env=self.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    preexec_fn=die_with_parent,
                )
            except subprocess.TimeoutExpired:
                raise StackError(f"manage.py {args[0]} took over {timeout:.0f} s; see {path}") from None
        if result.returncode:
            raise StackError(f"manage.py {args[0]} failed ({result.returncode}):\n{_tail(path)}")

    def _spawn(self, name: str, argv: list[str]) -> None:
        out = (self.workdir / f"{name}.log").open("wb")
        self._logs.append(out)
        self.procs[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: we signal exactly that group
            preexec_fn=die_with_parent,
        )
        log(f"started {name} (pid {self.procs[name].pid})")

    def _wait_healthy(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise StackError(
                        f"{name} exited with {proc.returncode} during start-up:\n{_tail(self.workdir / f'{name}.log')}"
                    )
            try:
                with urllib.request.urlopen(f"{self.base_url}/api/health", timeout=5) as response:
                    body = response.read()
                    last = body[:300].decode()
                    if json.loads(body)["status"] == "ok":  # not "degraded", which answers 200 too
                        log(f"stack healthy at {self.base_url}")
                        return
            except urllib.error.HTTPError as error:
                last = f"{error.code}: {error.read()[:300]!r}"
            except OSError as error:
                last = str(error)
            time.sleep(0.5)
        raise StackError(f"/api/health did not say ok within {timeout:.0f} s (last: {last})")

    def check_alive(self) -> list[str]:
        """Names of stack processes that have exited (should be none)."""
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def stop(self) -> None:
        if self._stopped or os.getpid() != self._owner:
            return
        self._stopped = True
        for name in reversed(list(self.procs)):
            terminate(self.procs[name], name)
        for out in self._logs:
            out.close()
        if not self.keep_db and self._db_created:
            try:
                self._drop_database()
            except Exception as error:
                log(f"could not drop {DB_NAME}: {error}")
        if not self.embedded:
            with contextlib.suppress(Exception):
                self._reset_redis()
        if os.environ.get("BENCH_KEEP_LOGS") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log(f"logs kept in {self.workdir}")

    # -- stores --

    def _recreate_database(self) -> None:
        self._drop_database()
        with _pg_admin() as cursor:
            cursor.execute(f'CREATE DATABASE "{DB_NAME}"')
        self._db_created = True
        log(f"created database {DB_NAME}")

    def _drop_database(self) -> None:
        with _pg_admin() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')

    def _reset_redis(self) -> None:
        """Delete this benchmark's keys (prefix ``bench``) in db 3, so no stale heartbeat or version."""
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        try:
            keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
        finally:
            client.close()


@contextlib.contextmanager
def _pg_admin():
    import psycopg2

    connection = psycopg2.connect(PG_ADMIN_URL, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def terminate(proc: subprocess.Popen, name: str, grace: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the child's own process group, then SIGKILL it if it is still there after ``grace``."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in {grace:.0f} s; killing it")
    # Whatever is left of the group (the leader or anything it started) is killed.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


_handlers_installed = False


def _install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit (and leave SIGINT as KeyboardInterrupt) so teardown runs."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    owner = os.getpid()

    def handler(signum, frame):
        if os.getpid() != owner:
            os._exit(128 + signum)
        log(f"received {signal.Signals(signum).name}; tearing down")
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


# --- profiling ------------------------------------------------------------------------------------

PY_SPY_CANDIDATES = ("/tmp/venv-tools/bin/py-spy",)


def find_py_spy(explicit: str | None = None) -> str | None:
    """py-spy from --profile PATH, $BENCH_PY_SPY, PATH, or /tmp/venv-tools (never the project venv)."""
    for candidate in (explicit, os.environ.get("BENCH_PY_SPY"), shutil.which("py-spy"), *PY_SPY_CANDIDATES):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Profile:
    """``py-spy record`` of one process for a while, summarised as text.

    Sampling is non-blocking (the process is not paused) and keeps only samples of the thread holding
    the GIL, so that threads waiting on locks (Django's per-request sync threads) do not drown the
    picture: the shares are of the Python work the process did.
    """

    def __init__(self, py_spy: str, pid: int, seconds: float, path: Path, rate: int = 100):
        self.path = path
        self.proc = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--nolineno",
                "--nonblocking",
                "--gil",  # only samples holding the GIL: where the process spends its one core of Python
                "--output",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def summary(self, top: int = 25, timeout: float = 60.0) -> str:
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            terminate(self.proc, "py-spy")
            return "py-spy did not finish"
        if not self.path.exists():
            return f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}"
        return summarise_collapsed(self.path.read_text(), top=top)


def _frame_parts(frame: str) -> tuple[str, str]:
    """'func (path/file.py)' -> ('func', 'path/file.py')."""
    if frame.endswith(")") and " (" in frame:
        name, _, where = frame[:-1].rpartition(" (")
        return name, where
    return frame, ""


def _package(where: str) -> str:
    path = where.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "?"
    if parts[0] in ("markets", "scalpaiboard", "alerts", "watchlists", "assistant", "providers"):
        return f"app:{parts[0]}"
    return parts[0].removesuffix(".py") if len(parts) > 1 else f"stdlib:{parts[0].removesuffix('.py')}"


def summarise_collapsed(text: str, *, top: int = 25) -> str:
    """Self and inclusive sample shares per function, and self share per package, of a collapsed profile."""
    total = 0
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    packages: dict[str, int] = {}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf_name, leaf_where = _frame_parts(frames[-1])
        key = f"{leaf_name} ({leaf_where})"
        own[key] = own.get(key, 0) + n
        package = _package(leaf_where)
        packages[package] = packages.get(package, 0) + n
        for frame in set(frames):
            name, where = _frame_parts(frame)
            key = f"{name} ({where})"
            inclusive[key] = inclusive.get(key, 0) + n
    if not total:
        return "no samples"

    def rows(counts: dict[str, int]) -> list[list[str]]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [[f"{100 * n / total:5.1f}%", name[:110]] for name, n in ranked]

    return "\n".join(
        [
            f"{total:,} samples",
            "",
            "self time by package (leaf frame)",
            table(["share", "package"], rows(packages)),
            "",
            "self time by function",
            table(["share", "function"], rows(own)),
            "",
            "inclusive time by function",
            table(["share", "function"], rows(inclusive)),
        ]
    )


def machine_busy(seconds: float = 3.0) -> float:
    """Percent of all cores busy over ``seconds`` (other people's work shows up here)."""
    busy0, total0 = system_cpu()
    time.sleep(seconds)
    busy1, total1 = system_cpu()
    return 100 * (busy1 - busy0) / max(1, total1 - total0)
