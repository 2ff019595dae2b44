"""Run the project's real processes (daphne, run_feed, celery worker and beat) for a test.

They use the test database and this test worker's Redis prefix, so that what a test writes
they read, and what they publish the test receives.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER", "DATABASE_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="scalpaiboard.settings",
        DATABASE_URL=database_url(),
        REDIS_PREFIX=settings.REDIS_PREFIX,
        VAR_DIR=str(settings.VAR_DIR),
        PYTHONUNBUFFERED="1",
    )
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra)
    return env


class Processes:
    """Started processes, stopped (and their output shown on failure) at the end."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(args, cwd=ROOT, env=process_env(**env), stdout=log, stderr=subprocess.STDOUT)
        self.running.append((name, process))
        return process

    def daphne(self, **env: str) -> str:
        port = free_port()
        self.start(
            "daphne", str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "scalpaiboard.asgi:application", **env
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{base}/api/health/live", timeout=1).status_code == 200, what="daphne", logs=self)
        return base

    def feed(self, **env: str) -> None:
        self.start("feed", sys.executable, "manage.py", "run_feed", **env)

    def log(self, name: str) -> str:
        path = self.tmp_path / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        for _, process in self.running:
            process.terminate()
        for name, process in self.running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.returncode not in (0, -15, 143):
                print(f"--- {name} exited with {process.returncode} ---\n{self.log(name)[-3000:]}")
        self.running.clear()

    def dump(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log(name)[-2000:]}" for name, _ in self.running)


class RedisServer:
    """A redis-server of a test's own, on a fixed port so that it can be stopped and started again
    where its clients expect it (no persistence: a restart comes back empty, as Redis in compose)."""

    def __init__(self, port: int, log: Path):
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no", "--daemonize", "no"]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.answers, what=f"redis-server on port {self.port}", timeout=10)

    def answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started redis-server of this test's own on a free port; killed at the end."""
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    try:
        yield group
    finally:
        group.stop()


def wait_for(condition, *, what: str, timeout: float = 60.0, logs: Processes | None = None):
    """Poll ``condition`` until it returns something truthy; fail with the processes' output."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as error:  # the service is still starting
            last_error = error
        time.sleep(0.25)
    detail = logs.dump() if logs else ""
    raise AssertionError(f"timed out waiting for {what} (last error: {last_error!r})\n{detail}")
