"""`make run`: the "running at" line once the app answers, the server in the foreground, no ERROR at start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "CELERY_BROKER_URL", "FEED_EMBEDDED")
RUNNING_AT = "Scalpaiboard is running at"

pytestmark = pytest.mark.xdist_group("make_run")  # the second test starts warm from the first one's data


@pytest.fixture(scope="module")
def embedded_env(tmp_path_factory) -> dict[str, str]:
    """The environment of a new user's embedded install, in a folder of its own."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS and k != "PYTEST_XDIST_WORKER"}
    return {**env, "VAR_DIR": str(tmp_path_factory.mktemp("make-run") / "var"), "PYTHONUNBUFFERED": "1"}


def make_run(*, env: dict[str, str], port: int) -> subprocess.Popen:
    """`make run` as a user starts it in a terminal, its output readable line by line."""
    return subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's Ctrl-C reaches
        preexec_fn=_ctrl_c_default,
    )


class Output:
    """A process's output lines as they come, read in a thread."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, *, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = next((line for line in self.lines if text in line), None)
            if found:
                return found
            time.sleep(0.01)
        raise AssertionError(f"no line with {text!r} within {timeout:.0f} s:\n" + "\n".join(self.lines[-40:]))


def test_make_run_prints_its_address_once_the_app_answers_and_stops_on_ctrl_c(embedded_env):
    port = free_port()
    run = make_run(env=embedded_env, port=port)
    output = Output(run)
    try:
        line = output.wait_for(RUNNING_AT, timeout=240)
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health/live", timeout=5)  # at once: no retry
        states = _health_until_ok(f"http://127.0.0.1:{port}/api/health", timeout=60)
    finally:
        os.killpg(run.pid, signal.SIGINT)
        stopped = _wait(run, timeout=30)

    assert line == f"{RUNNING_AT} http://127.0.0.1:{port}/  (API docs: http://127.0.0.1:{port}/api/docs/)"
    assert answer.status_code == 200
    assert set(states) <= {(503, "starting"), (200, "ok")}
    assert states[-1] == (200, "ok")
    assert stopped, "the server did not stop on Ctrl-C"
    assert not [line for line in output.lines if " ERROR " in line]


def test_launcher_exits_with_an_error_when_the_port_is_taken(embedded_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "scalpaiboard.launcher", "--port", str(port)],
            cwd=ROOT,
            env=embedded_env,
            capture_output=True,
            text=True,
            timeout=240,
        )

    assert result.returncode == 1
    assert "Address already in use" in result.stdout + result.stderr
    assert RUNNING_AT not in result.stdout


def test_ctrl_c_during_the_first_set_up_stops_make_run_without_a_traceback(tmp_path, embedded_env):
    env = {**embedded_env, "VAR_DIR": str(tmp_path / "var")}  # empty: the first market load takes a while
    run = make_run(env=env, port=free_port())
    deadline = time.monotonic() + 120
    while not (tmp_path / "var" / "db.sqlite3").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1)  # migrating or loading the market

    os.killpg(run.pid, signal.SIGINT)
    stopped = _wait(run, timeout=30)

    output = run.stdout.read()
    assert stopped, output
    assert "Stopped during the set-up." in output
    assert "Traceback" not in output


def _ctrl_c_default() -> None:
    """SIGINT as a terminal leaves it: a suite started in the background inherits it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _health_until_ok(url: str, *, timeout: float) -> list[tuple[int, str]]:
    """Every (status code, overall state) /api/health answered until its first 200."""
    states: list[tuple[int, str]] = []
    unexpected: list[dict] = []  # whole answers, to say which component was not ok
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and states[-1:] != [(200, "ok")]:
        response = httpx.get(url, timeout=5)
        body = response.json()
        states.append((response.status_code, body["status"]))
        if body["status"] not in ("starting", "ok"):
            unexpected.append(body)
        time.sleep(0.05)
    assert not unexpected, f"/api/health answered neither starting nor ok: {unexpected[:3]}"
    return states


def _wait(process: subprocess.Popen, *, timeout: float) -> bool:
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return False
