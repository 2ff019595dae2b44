"""``make run``: set up the embedded install and serve it, in one process.

The set-up steps (migrations, the coins and the candles missed while stopped, the operator login)
run here through ``call_command``, then daphne serves in the foreground, so that Ctrl-C stops it.
The "running at" line is printed only once the app answers. One process instead of four: each
``manage.py`` start paid about 1.5 s of imports and system checks before doing its work.

    python -m scalpaiboard.launcher [--host 127.0.0.1] [--port 8000] [daphne options, e.g. -v 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request

STARTED = time.monotonic()  # before Django and the project are imported
APPLICATION = "scalpaiboard.asgi:application"
READY_PATH = "/api/health/live"
READY_TIMEOUT = 120.0
# Where a server bound to every address answers the readiness poll.
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1"}
# The poll goes straight to this server, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))

logger = logging.getLogger("scalpaiboard.launcher")  # not "__main__" when run with -m


def main(argv: list[str] | None = None) -> int:
    """Set up, then serve until stopped; 1 when the server could not listen, 130 when stopped while setting up."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args, daphne_options = parser.parse_known_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scalpaiboard.settings")
    try:
        import django

        django.setup()
        steps = {"imports": time.monotonic() - STARTED, **setup_run()}
    except KeyboardInterrupt:  # Ctrl-C during the set-up: stop, as the server does, without a traceback
        print("Stopped during the set-up.", file=sys.stderr)
        return 130
    announcer = threading.Thread(
        target=announce_when_ready, kwargs={"host": args.host, "port": args.port, "steps": steps}, daemon=True
    )
    announcer.start()
    return 0 if serve(host=args.host, port=args.port, options=daphne_options) else 1


def setup_run() -> dict[str, float]:
    """Migrate, load the market (new coins, the candles missed while stopped), ensure the operator
    login; returns each step's seconds."""
    from django.core.management import call_command
    from django.db import connections

    steps = {}
    for name, command, options in (
        ("migrate", "migrate", {"interactive": False, "verbosity": 0}),
        ("market_load", "market_load", {}),
        ("ensure_operator", "ensure_operator", {}),
    ):
        started = time.monotonic()
        call_command(command, **options)
        steps[name] = time.monotonic() - started
    connections.close_all()  # the server's threads open their own
    return steps


def serve(*, host: str, port: int, options: list[str]) -> bool:
    """Run daphne in this process's foreground until it stops; False when it could not listen."""
    from daphne.cli import CommandLineInterface

    cli = CommandLineInterface()
    cli.run(["-b", host, "-p", str(port), *options, APPLICATION])
    return bool(cli.server.listening_addresses)


def announce_when_ready(*, host: str, port: int, steps: dict[str, float]) -> None:
    """Print the "running at" line once the app answers, and how long each start-up step took."""
    served = time.monotonic()
    if not ready_wait(url=f"http://{_url_host(LOOPBACK.get(host, host))}:{port}{READY_PATH}"):
        print(f"Scalpaiboard did not answer within {READY_TIMEOUT:.0f} s; see the log above.", file=sys.stderr)
        return
    steps["server start"] = time.monotonic() - served
    base = f"http://{_url_host(host)}:{port}"
    print(f"Scalpaiboard is running at {base}/  (API docs: {base}/api/docs/)", flush=True)
    logger.info(
        "Started in %.1f s: %s", time.monotonic() - STARTED, ", ".join(f"{k} {v:.2f} s" for k, v in steps.items())
    )


def ready_wait(*, url: str, timeout: float = READY_TIMEOUT, interval: float = 0.05) -> bool:
    """Poll ``url`` until it answers 200; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with _DIRECT.open(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass  # not listening yet
        time.sleep(interval)
    return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


if __name__ == "__main__":
    sys.exit(main())
