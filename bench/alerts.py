"""Alert engine benchmark: 1,000,000 active alerts over 2,000 coins (70 % price conditions, 20 %
moving/channel, 10 % bar conditions), in a scratch PostgreSQL database (``bench_alerts``, dropped at
the end; Redis db 3, prefix ``bench-alerts``).

- load: the engine reading every active alert into its arrays (time, and the memory its arrays and
  bar-close lists take, measured with tracemalloc);
- one full-market price batch (every coin moves once) evaluated with no alert firing, and with 1 %
  (10,000 alerts) firing, their events, notifications and claims written to PostgreSQL;
- the ratio of the no-firing evaluation to a bare NumPy comparison of the same arrays in the same run;
- bringing the engine up to date after one alert is edited (it reads again only what changed since
  its last load, a minute before it included, so the claims of the firing runs too).

Wall and CPU time (of this process) are printed side by side: on a machine shared with other work the
CPU time is the steadier figure (PostgreSQL's own work is not in it).

Aims (issue 12): < 50 ms without firing, < 2 s with 10,000 firings stored, < 500 MB, load < 10 s.
Run from the project root: ``.venv/bin/python bench/alerts.py`` (``--alerts N``, ``--runs N``).
Not measured here: tick-to-notification latency on the full stack.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_alerts")
COINS = 2000
PRICE = 100.0


def configure() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="scalpaiboard.settings",
        VAR_DIR=tempfile.mkdtemp(prefix="bench-alerts-"),
        SECRET_KEY=secrets.token_urlsafe(40),
        DEBUG="false",
        FEED_EMBEDDED="false",
        DATABASE_URL=PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + DB_NAME,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"),
        REDIS_PREFIX="bench-alerts",
        LOG_LEVEL="WARNING",
    )
    _database(create=True)


def _database(*, create: bool) -> None:
    import psycopg2

    connection = psycopg2.connect(PG_ADMIN_URL)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        if create:
            cursor.execute(f"CREATE DATABASE {DB_NAME}")
    connection.close()


def conditions(count: int, rng) -> list[tuple[str, dict]]:
    """(frequency, condition) of ``count`` alerts, none of which holds at PRICE or PRICE * 1.005."""
    far = [
        ("every_time", {"kind": "crossing_up", "level": 150.0}),
        ("once_per_bar", {"kind": "crossing_down", "level": 50.0}),
        ("only_once", {"kind": "price_above", "level": 200.0}),
        ("every_time", {"kind": "price_below", "level": 20.0}),
        ("once_per_bar", {"kind": "crossing", "level": 300.0}),
        ("only_once", {"kind": "entering_channel", "low": 150.0, "high": 160.0}),
        ("every_time", {"kind": "exiting_channel", "low": 10.0, "high": 1000.0}),
        ("every_time", {"kind": "moving_up", "percent": 50.0, "bars": 5}),
        ("once_per_bar", {"kind": "moving_down", "percent": 50.0, "bars": 3}),
        ("once_per_bar", {"kind": "rsi_above", "level": 70.0, "length": 14}),
        ("only_once", {"kind": "macd_cross_bullish", "fast": 12, "slow": 26, "signal": 9}),
    ]
    # 70 % price (first five), 20 % channel/moving (next four), 10 % bar conditions (last two)
    weights = [0.14] * 5 + [0.05] * 4 + [0.05] * 2
    picks = rng.choice(len(far), size=count, p=weights)
    return [far[i] for i in picks]


def seed(count: int, firing_count: int) -> tuple[list, int]:
    """Coins, one user and ``count`` alerts (COPY); returns the coins and the first alert id that fires."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from markets.models import Coin

    now = timezone.now()
    Coin.objects.bulk_create(
        Coin(symbol=f"C{i:04d}", name=f"Coin {i}", rank=i + 1, price=PRICE, updated_at=now) for i in range(COINS)
    )
    coins = list(Coin.objects.order_by("pk"))
    user = get_user_model().objects.create_user(username="bench", password=secrets.token_urlsafe(12))
    rng = np.random.default_rng(12)
    picked = conditions(count, rng)
    coin_of = rng.integers(0, COINS, size=count)
    firing = set(rng.choice(count, size=firing_count, replace=False).tolist())  # crossing_up 100.25
    buffer = io.StringIO()
    stamp = now.isoformat()
    for i in range(count):
        frequency, condition = ("every_time", {"kind": "crossing_up", "level": 100.25}) if i in firing else picked[i]
        cooldown = 0 if i in firing else 60
        buffer.write(
            f"{user.pk}\t{coins[coin_of[i]].pk}\t{condition['kind']}\t{json.dumps(condition)}\t{frequency}\t1m\t"
            f"{cooldown}\t\\N\t\t\tactive\t{stamp}\t{stamp}\t\\N\t\\N\t0\t{{}}\tf\n"
        )
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY alerts_alert (user_id, coin_id, kind, condition, frequency, timeframe, cooldown, expires_at, "
            "message, note, status, created_at, updated_at, last_fired_at, last_fired_bar, fire_count, engine_state, "
            "urgent) "
            "FROM STDIN",
            buffer,
        )
        cursor.execute("ANALYZE alerts_alert")
    return coins, len(firing)


def batch(coins, price: float, ts_ms: int):
    from markets.events import PriceBatch

    return PriceBatch([c.symbol for c in coins], [PRICE] * len(coins), [price] * len(coins), [ts_ms] * len(coins))


def timed(work) -> tuple[float, float]:
    """Wall and CPU seconds (this process) of ``work()``: CPU time is the steadier figure on a shared machine."""
    started, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - started, time.process_time() - cpu


def edit_one(engine) -> tuple[float, float]:
    """Wall and CPU seconds of bringing ``engine`` up to date after one user edits one alert."""
    from alerts.changes import alerts_changed
    from alerts.models import Alert

    alert = Alert.objects.filter(status="active").order_by("pk").first()
    alert.note = "edited"
    alert.save(update_fields=["note", "updated_at"])
    alerts_changed()  # at once: no transaction is open
    return timed(engine.refresh)


def bare_numpy(table, price: float) -> float:
    """The same comparisons on the same arrays, with nothing around them (seconds)."""
    import numpy as np

    p0 = np.full(len(table.coin_ids), PRICE)
    p1 = np.full(len(table.coin_ids), price)
    started = time.perf_counter()
    for group in table.groups.values():
        a, c = group.a, group.coin
        ((p0[c] <= a) & (a < p1[c])).nonzero()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--firing", type=int, default=0, help="alerts that fire (default: 1 %%)")
    args = parser.parse_args()
    configure()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        _database(create=False)


def run(args) -> None:
    from alerts.engine import AlertEngine
    from alerts.models import AlertEvent

    print(f"seeding {args.alerts:,} alerts over {COINS:,} coins ...", file=sys.stderr)
    coins, firing = seed(args.alerts, args.firing or args.alerts // 100)
    tracemalloc.start()  # memory measured on a load of its own: tracing slows the load down
    probe = AlertEngine()
    probe.load()
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del probe
    engine = AlertEngine()
    load_s, load_cpu = timed(engine.load)
    now_ms = int(time.time()) * 1000
    engine.evaluate_prices(batch(coins, PRICE * 1.0001, now_ms))  # warm-up
    quiet, quiet_cpu, bare = [], [], []
    for run_index in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        found = engine.evaluate_prices(batch(coins, PRICE * 1.001, now_ms + 1 + run_index))
        quiet.append(time.perf_counter() - started)
        quiet_cpu.append(time.process_time() - cpu)
        assert not found
        bare.append(bare_numpy(engine.table, PRICE * 1.001))
    import alerts.notifications as notifications

    send, sending = notifications._send, []

    def timed_send(messages):  # the part of a firing batch spent sending to the /ws groups, after commit
        started = time.perf_counter()
        send(messages)
        sending.append(time.perf_counter() - started)

    notifications._send = timed_send
    loud, loud_cpu = [], []
    for run_index in range(args.runs):
        engine.evaluate_prices(batch(coins, PRICE, now_ms + 1000 + run_index * 10))  # back under the level
        before = AlertEvent.objects.count()
        started, cpu = time.perf_counter(), time.process_time()
        found = engine.evaluate_prices(batch(coins, PRICE * 1.005, now_ms + 1001 + run_index * 10))
        loud.append(time.perf_counter() - started)
        loud_cpu.append(time.process_time() - cpu)  # this process only: PostgreSQL's own work is not in it
        assert len(found) == firing and AlertEvent.objects.count() - before == firing, (len(found), firing)
    update_s, update_cpu = edit_one(engine)
    median = statistics.median
    print(f"\nAlert engine, {args.alerts:,} active alerts over {COINS:,} coins (median of {args.runs} runs)")
    rows = [
        ("load at start (wall / CPU)", f"{load_s:.2f} / {load_cpu:.2f} s", "< 10 s"),
        ("update after one alert is edited (wall / CPU)", f"{update_s:.2f} / {update_cpu:.2f} s", ""),
        ("engine memory (arrays, bar-close lists)", f"{memory / 2**20:.0f} MB", "< 500 MB"),
        (
            "full-market batch, no firing (wall / CPU)",
            f"{median(quiet) * 1000:.1f} / {median(quiet_cpu) * 1000:.1f} ms",
            "< 50 ms",
        ),
        ("bare NumPy comparison, same arrays", f"{median(bare) * 1000:.1f} ms", ""),
        ("ratio engine / bare NumPy", f"{median(quiet) / median(bare):.1f}x", ""),
        (
            f"full-market batch, {firing:,} firings (wall / CPU)",
            f"{median(loud) * 1000:.0f} / {median(loud_cpu) * 1000:.0f} ms",
            "",
        ),
        (
            "  of which stored (claims, events, notifications)",
            f"{(median(loud) - median(sending)) * 1000:.0f} ms",
            "< 2 s",
        ),
        ("  of which sent to the /ws groups after commit", f"{median(sending) * 1000:.0f} ms", ""),
    ]
    for name, value, aim in rows:
        print(f"  {name:<50} {value:>16}   {aim}")


if __name__ == "__main__":
    main()
