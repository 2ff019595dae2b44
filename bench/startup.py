"""`make run`'s start-up: a cold start (empty VAR_DIR), then warm starts, each split by step.

Each start runs ``make run`` in a temporary ``VAR_DIR`` (embedded mode: no service variables) and
polls the server every 20 ms. Printed per start: when the "running at" line came, when
``/api/health/live`` first answered and when ``/api/health`` first answered 200 (the feed ticking),
seconds from the start of ``make run``; the CPU time of ``make run`` and everything it ran; and the
step split the launcher logs ("Started in ...": imports, migrate, market_load, ensure_operator,
server start). Before each warm start, ``--gap`` minutes of candles are deleted, as if the server had
been stopped that long, so that market_load has a gap to fill.

Run from the project root: ``.venv/bin/python bench/startup.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import ROOT, SERVICE_VARS, fmt, free_port, log, machine_busy, table, terminate

STEPS = re.compile(r"Started in [\d.]+ s: (.*)")
RUNNING_AT = "is running at"


class Start:
    """One ``make run``, timed from its launch, stopped with SIGINT once /api/health answers 200."""

    def __init__(self, env: dict[str, str], port: int):
        self.env, self.port = env, port
        self.lines: list[tuple[float, str]] = []
        self.marks: dict[str, float] = {}

    def run(self, timeout: float) -> Start:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.started = time.monotonic()
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={self.port}"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            # SIGINT as a terminal leaves it (a benchmark started in the background inherits it ignored).
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        reader = threading.Thread(target=self._read, args=(proc,), daemon=True)
        reader.start()
        try:
            self._poll(timeout)
        finally:
            terminate(proc, "make run", grace=30, sig=signal.SIGINT)  # Ctrl-C, as a user stops it
        reader.join(5)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            now = time.monotonic() - self.started
            self.lines.append((now, line.rstrip()))
            if RUNNING_AT in line:
                self.marks.setdefault("running at", now)

    def _poll(self, timeout: float) -> None:
        base = f"http://127.0.0.1:{self.port}"
        while time.monotonic() - self.started < timeout and "health 200" not in self.marks:
            for mark, path in (("live", "/api/health/live"), ("health 200", "/api/health")):
                if mark not in self.marks and _answers(base + path):
                    self.marks[mark] = time.monotonic() - self.started
            time.sleep(0.02)

    def steps(self) -> str:
        found = [STEPS.search(line) for _, line in self.lines]
        return next((m.group(1) for m in found if m), "-")


def _answers(url: str) -> bool:
    """The health view at ``url`` says "ok" (a degraded site answers 200 too)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and json.load(response)["status"] == "ok"
    except (urllib.error.URLError, OSError):
        return False


def candles_forget(var_dir: Path, minutes: int) -> int:
    """Delete the candles of the last ``minutes``, as if the server had been stopped that long."""
    cutoff = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - minutes * 60))
    with sqlite3.connect(var_dir / "db.sqlite3") as db:
        return db.execute("DELETE FROM markets_candle WHERE open_time >= ?", (cutoff,)).rowcount


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=3, help="warm starts after the cold one (3)")
    parser.add_argument("--gap", type=int, default=15, help="minutes of candles to forget before each warm start (15)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds a start may take (300)")
    args = parser.parse_args()
    background = machine_busy()
    workdir = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and k != "PYTEST_XDIST_WORKER"}
    env.update(VAR_DIR=str(workdir / "var"), PYTHONUNBUFFERED="1")
    rows = []
    try:
        for index in range(args.warm + 1):
            kind = "cold" if index == 0 else f"warm {index}"
            if index:
                forgot = candles_forget(workdir / "var", args.gap)
                kind += f" ({args.gap} min gap, {forgot:,} candles)"
            log(f"{kind}: make run")
            start = Start(env, free_port()).run(args.timeout)
            marks = [fmt(start.marks.get(m, float("nan")), 2) for m in ("running at", "live", "health 200")]
            rows.append([kind, *marks, fmt(start.cpu, 2), start.steps()])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"`make run` start-up, seconds from its launch (machine busy before: {background:.0f} % of all cores)")
    headers = ["start", '"running at"', "live 200", "health 200", "CPU s", "launcher's split"]
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
