"""Tick-to-notification latency of alerts on the full stack: ``run_feed`` (simulated market), a Celery
worker of the queue ``alerts`` holding the engine, daphne, PostgreSQL and Redis (scratch stores, see
``_stack.py``), with 100,000 active alerts that do not fire and ~100 that fire on every tick, each with
a 15 s cooldown (12 firings in 3 minutes, under the auto-pause). A /ws client of their owner measures
each notification's arrival against its ``fired_at`` (the exchange time of the tick: the simulated
exchange stamps ticks with this machine's clock). Aim (issue 12): p99 under 500 ms.

Run from the project root: ``.venv/bin/python bench/alerts_latency.py`` (``--seconds N``, ``--alerts N``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import BIN, CELERY_BROKER_URL, PG_URL, REDIS_PREFIX, REDIS_URL, Stack, log, percentile


def alerts_create(count: int) -> str:
    """``count`` quiet alerts and one firing alert per coin for one user; return the user's session cookie."""
    import numpy as np
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from alerts.changes import alerts_changed
    from alerts.models import Alert
    from markets.models import Coin

    user = get_user_model().objects.create_user(username="bench-alerts", password="pw-bench-123456")
    coins = list(Coin.objects.all())
    rng = np.random.default_rng(5)
    quiet = [
        Alert(user=user, coin=coins[i], kind="crossing_up", condition={"kind": "crossing_up", "level": 1e11})
        for i in rng.integers(0, len(coins), count)
    ]
    Alert.objects.bulk_create(quiet, batch_size=10_000)
    firing = {"kind": "price_above", "level": 1e-12}
    Alert.objects.bulk_create(
        Alert(user=user, coin=c, kind="price_above", condition=firing, frequency="every_time", cooldown=15)
        for c in coins
    )
    alerts_changed()
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def latencies(ws_url: str, cookie: str, seconds: float) -> list[float]:
    import websockets

    found = []
    async with websockets.connect(ws_url, additional_headers={"Cookie": cookie}, max_size=None) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channel": "notifications"}))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
            except TimeoutError:
                break
            if message.get("type") == "notification" and message.get("kind") == "fired":
                fired = datetime.fromisoformat(message["fired_at"].replace("Z", "+00:00")).timestamp()
                found.append(time.time() - fired)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    with Stack(access_log=False) as stack:
        stack._spawn("alerts", [str(BIN / "celery"), "-A", "scalpaiboard", "worker", "--pool", "solo", "-Q", "alerts"])
        os.environ.update(
            DJANGO_SETTINGS_MODULE="scalpaiboard.settings",
            DATABASE_URL=PG_URL,
            REDIS_URL=REDIS_URL,
            REDIS_PREFIX=REDIS_PREFIX,
            CELERY_BROKER_URL=CELERY_BROKER_URL,
            SECRET_KEY=stack.env["SECRET_KEY"],
            VAR_DIR=stack.env["VAR_DIR"],
            LOG_LEVEL="WARNING",
        )
        import django

        django.setup()
        cookie = alerts_create(args.alerts)
        log(f"{args.alerts:,} quiet alerts and one firing alert per coin created; measuring {args.seconds:.0f} s")
        asyncio.run(latencies(stack.ws_url, cookie, 20))  # the worker loads the alerts: not measured
        found = sorted(asyncio.run(latencies(stack.ws_url, cookie, args.seconds)))
    if not found:
        sys.exit("no notification arrived")
    print(f"\nTick-to-notification latency, full stack, {args.alerts:,} active alerts ({len(found)} notifications)")
    for name, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
        print(f"  {name:<4} {percentile(found, p) * 1000:8.0f} ms{'   aim < 500 ms' if name == 'p99' else ''}")


if __name__ == "__main__":
    main()
