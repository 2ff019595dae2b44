"""Notification delivery on the full stack: a burst of firings to in-app, webhook and Telegram channels.

The stack: PostgreSQL and Redis (scratch database, see ``_stack.py``), ``run_feed`` and ``daphne`` (for
/ws), Celery beat and two ``notify`` workers as docker-compose runs them (prefork, ``--concurrency``),
a local webhook receiver and the local Telegram Bot API imitation (each a process of its own, from
``alerts/tests``). ``--users`` users each own ``firings / users`` alerts, a webhook channel and a
Telegram chat; every alert goes to both. The benchmark stores one burst of firings as the engine does
(``alerts.firing.firings_store``, one transaction) and measures, from the firings' time:

- in-app: each notification's arrival on its owner's /ws socket;
- webhooks: each request's arrival at the receiver (the hand-off), by ``webhook-id``;
- Telegram: each message's arrival at the imitation, paced by Telegram's limits (1 a second per chat,
  30 a second for the bot), so reported separately;
- lost (never arrived) and duplicated (arrived twice) per channel kind.

Then the same burst again, with one of the two workers killed with ``kill -9`` (its whole process group,
as a container dies) halfway through the webhooks, and a replacement worker started. Baseline in the
same run: the same number of signed webhooks POSTed straight to the receiver from this process with as
many threads as the workers have processes in all (the floor the queue, claim and record add to).

Aims (issue 13): in-app p99 < 1 s, webhook hand-off p99 < 2 s, 0 lost, 0 duplicated; with a kill -9,
0 lost and the duplicates counted.

Run from the project root: ``.venv/bin/python bench/notifications.py`` (``--firings N``, ``--users N``,
``--concurrency N``, ``--no-kill``). Uses Redis dbs 8 and 9 unless BENCH_REDIS_URL / BENCH_BROKER_URL say.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stack
from _stack import BIN, PG_URL, PYTHON, ROOT, Stack, die_with_parent, log, percentile, verdict

_stack.REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
_stack.CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/9")
TOKEN = "123456:BENCH-imitation-token"
FIRST_CHAT = 700_000_000
WAIT = 240.0  # seconds a burst may take to settle (Telegram's pacing: firings / 30 s, at least)


# --- the local services ----------------------------------------------------------------------------


def service_start(name: str, argv: list[str], workdir: Path) -> tuple[subprocess.Popen, int]:
    """Start a receiver (``python -m …``) that prints ``listening <port>``; return it and its port."""
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=(workdir / f"{name}.err").open("wb"),
        text=True,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    line = process.stdout.readline()
    if not line.startswith("listening "):
        sys.exit(f"{name} did not start: {line!r}; see {workdir / f'{name}.err'}")
    return process, int(line.split()[1])


def webhooks_received(record: Path, offset: int) -> tuple[list[dict], int]:
    """The requests appended to the receiver's record file past ``offset`` bytes, and the new offset."""
    with record.open("rb") as file:
        file.seek(offset)
        data = file.read()
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines()], offset + len(complete)


def telegram_received(port: int) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_imitation/messages", timeout=30) as answer:
        return json.loads(answer.read())


# --- the data ----------------------------------------------------------------------------------------


def data_create(*, users: int, alerts: int, webhook_url: str) -> tuple[list[str], list[int]]:
    """Users, each with a webhook channel and a Telegram chat and their share of ``alerts`` alerts going to
    both; return the users' session cookies and the alert ids."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from alerts.conditions import condition_clean
    from alerts.models import Alert, Channel
    from alerts.transports.webhook import webhook_secret_new
    from markets.models import Coin

    coins = list(Coin.objects.order_by("rank"))
    condition = condition_clean({"kind": "price_above", "level": 1e12})
    cookies, ids = [], []
    for n in range(users):
        user = get_user_model().objects.create_user(
            username=f"bench-notify-{n}", email=f"bench-notify-{n}@example.com", password="pw-bench-123456"
        )
        webhook = Channel.objects.create(
            user=user, kind="webhook", url=f"{webhook_url}u{n}", secret=webhook_secret_new()
        )
        telegram = Channel.objects.create(user=user, kind="telegram", chat_id=str(FIRST_CHAT + n))
        share = alerts // users + (1 if n < alerts % users else 0)
        made = Alert.objects.bulk_create(
            Alert(
                user=user,
                coin=coins[(n + i) % len(coins)],
                kind="price_above",
                condition=condition,
                frequency="every_time",
                cooldown=0,
                message="{{symbol}} alert {{alert_id}} fired at {{price}}",
            )
            for i in range(share)
        )
        Through = Alert.channels.through
        Through.objects.bulk_create(Through(alert_id=a.pk, channel_id=c.pk) for a in made for c in (webhook, telegram))
        ids += [a.pk for a in made]
        client = Client()
        client.force_login(user)
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}")
    return cookies, ids


def burst_fire(alert_ids: list[int], fired_ms: int, price: float) -> float:
    """Store one firing of every alert, as the engine does; return how long the transaction took (s)."""
    from alerts.firing import Firing, firings_store

    started = time.monotonic()
    firings_store([Firing(a, f"t:{fired_ms}", fired_ms, price, None) for a in alert_ids])
    return time.monotonic() - started


def burst_settled(fired_ms: int) -> tuple[int, dict[str, int]]:
    """How many of the burst's deliveries are not yet sent or dead, and the count of each state."""
    from django.db.models import Count

    from alerts.models import Delivery

    rows = Delivery.objects.filter(event__key=f"t:{fired_ms}").values_list("state").annotate(n=Count("id"))
    states = dict(rows)
    return sum(n for s, n in states.items() if s not in ("sent", "dead")), states


def burst_webhook_ids(fired_ms: int) -> set[str]:
    from alerts.models import Delivery

    rows = Delivery.objects.filter(event__key=f"t:{fired_ms}", channel__kind="webhook").values_list("pk", flat=True)
    return {f"msg_{pk}" for pk in rows}


# --- /ws ----------------------------------------------------------------------------------------------


async def sockets_open(ws_url: str, cookies: list[str]) -> list:
    import websockets

    sockets = []
    for cookie in cookies:
        ws = await websockets.connect(ws_url, additional_headers={"Cookie": cookie}, max_size=None)
        await ws.send(json.dumps({"action": "subscribe", "channel": "notifications"}))
        while json.loads(await ws.recv()).get("channel") != "notifications":
            pass
        sockets.append(ws)
    return sockets


async def notifications_collect(sockets: list, expected: int, timeout: float) -> list[tuple[float, float]]:
    """(fired_at, arrival) of each ``fired`` notification on the sockets, until ``expected`` or timeout."""
    found: list[tuple[float, float]] = []
    done = asyncio.Event()

    async def read(ws) -> None:
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "notification" and message.get("kind") == "fired":
                fired = datetime.fromisoformat(message["fired_at"].replace("Z", "+00:00")).timestamp()
                found.append((fired, time.time()))
                if len(found) >= expected:
                    done.set()

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return found


# --- the workers --------------------------------------------------------------------------------------


def worker_start(stack: Stack, name: str, concurrency: int) -> None:
    argv = [str(BIN / "celery"), "-A", "scalpaiboard", "worker", "-Q", "notify", "-n", f"{name}@%h"]
    stack._spawn(name, [*argv, "--concurrency", str(concurrency), "-l", "info"])


def group_cpu(pgid: int) -> float:
    """CPU seconds of every process in a process group (a prefork worker and its pool processes)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def workers_cpu(stack: Stack) -> float:
    return sum(group_cpu(p.pid) for name, p in stack.procs.items() if name.startswith("notify") and p.poll() is None)


# --- one burst ----------------------------------------------------------------------------------------


def burst_run(stack, loop, cookies, alert_ids, services, *, price: float, kill: tuple[str, int] | None = None) -> dict:
    """Fire once, wait until every delivery settled; with ``kill`` (a worker's name and the processes of
    its replacement), kill that worker halfway through the webhooks and start a replacement. Each user's
    /ws socket is opened for the burst: one left idle between bursts would miss the server's pings."""
    record, telegram_port = services
    sockets = loop.run_until_complete(sockets_open(stack.ws_url, cookies))
    _, offset = webhooks_received(record, 0)
    telegram_before = len(telegram_received(telegram_port))
    fired_ms = int(time.time() * 1000)
    cpu_before = workers_cpu(stack)

    def kill_halfway() -> int:
        while len(webhooks_received(record, offset)[0]) < len(alert_ids) // 2:
            time.sleep(0.01)
        os.killpg(stack.procs[kill[0]].pid, signal.SIGKILL)
        arrived = len(webhooks_received(record, offset)[0])
        log(f"killed {kill[0]} with SIGKILL after {arrived} webhooks; starting a replacement")
        worker_start(stack, f"{kill[0]}b", kill[1])
        return arrived

    async def burst() -> tuple[float, int | None, list]:
        collecting = asyncio.create_task(notifications_collect(sockets, len(alert_ids), 60))
        stored = await asyncio.to_thread(burst_fire, alert_ids, fired_ms, price)
        killed_at = await asyncio.to_thread(kill_halfway) if kill else None
        in_app = await collecting
        await asyncio.gather(*(ws.close() for ws in sockets))
        return stored, killed_at, in_app

    stored, killed_at, in_app = loop.run_until_complete(burst())
    deadline = time.monotonic() + WAIT
    while (left := burst_settled(fired_ms))[0] and time.monotonic() < deadline:
        time.sleep(0.5)
    cpu = None if kill else workers_cpu(stack) - cpu_before
    fired = fired_ms / 1000
    hooks, _ = webhooks_received(record, offset)
    expected = burst_webhook_ids(fired_ms)
    hook_ids = [h["headers"].get("webhook-id") for h in hooks if h["headers"].get("webhook-id") in expected]
    first: dict[str, float] = {}
    for h in hooks:
        first.setdefault(h["headers"].get("webhook-id"), h["at"])
    messages = telegram_received(telegram_port)[telegram_before:]
    keys = [(m["chat_id"], m["plain"]) for m in messages]
    return {
        "stored": stored,
        "killed_at": killed_at,
        "in_app": sorted(at - f for f, at in in_app),
        "webhook": sorted(first[i] - fired for i in expected if i in first),
        "webhook_lost": len(expected - set(hook_ids)),
        "webhook_dup": len(hook_ids) - len(set(hook_ids)),
        "telegram": sorted(m["at"] - fired for m in messages),
        "telegram_lost": len(alert_ids) - len(set(keys)),
        "telegram_dup": len(keys) - len(set(keys)),
        "unsettled": left[0],
        "states": left[1],
        "cpu": cpu,
        "expected": len(alert_ids),
    }


def baseline(url: str, count: int, threads: int) -> list[float]:
    """Seconds from the start to each of ``count`` signed webhooks POSTed straight to the receiver."""
    import httpx
    from standardwebhooks import Webhook

    hook = Webhook("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = '{"symbol": "BTC", "price": 1}'
    client = httpx.Client(timeout=10)
    started = time.time()

    def post(n: int) -> float:
        stamp = datetime.now()
        headers = {
            "webhook-id": f"base_{n}",
            "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": hook.sign(f"base_{n}", stamp, body),
            "content-type": "application/json",
        }
        client.post(f"{url}baseline", content=body, headers=headers).raise_for_status()
        return time.time() - started

    with ThreadPoolExecutor(threads) as pool:
        return sorted(pool.map(post, range(count)))


# --- report -------------------------------------------------------------------------------------------


def figures(values: list[float]) -> str:
    if not values:
        return "none arrived"
    return "  ".join(f"{n} {percentile(values, p) * 1000:7.0f} ms" for n, p in (("p50", 50), ("p99", 99), ("max", 100)))


def report(name: str, run: dict) -> None:
    print(f"\n{name}: {run['expected']:,} firings stored in {run['stored'] * 1000:.0f} ms (one transaction)")
    if run["killed_at"] is not None:
        print(f"  one of two workers killed with SIGKILL after {run['killed_at']} webhooks had arrived")
    in_app_p99 = percentile(run["in_app"], 99)
    hook_p99 = percentile(run["webhook"], 99)
    print(
        f"  in-app   ({len(run['in_app']):>5} arrived)  {figures(run['in_app'])}   aim p99 < 1 s: "
        f"{verdict(len(run['in_app']) == run['expected'] and in_app_p99 < 1)}"
    )
    print(
        f"  webhook  ({len(run['webhook']):>5} arrived)  {figures(run['webhook'])}   aim p99 < 2 s: "
        f"{verdict(run['webhook_lost'] == 0 and hook_p99 < 2)}"
    )
    print(
        f"  telegram ({len(run['telegram']):>5} arrived)  {figures(run['telegram'])}   (paced: 1/s a chat, 30/s in all)"
    )
    print(
        f"  lost: webhook {run['webhook_lost']}, telegram {run['telegram_lost']};  "
        f"duplicated: webhook {run['webhook_dup']}, telegram {run['telegram_dup']}"
    )
    print(f"  deliveries by state: {run['states']}" + (f", {run['unsettled']} unsettled" if run["unsettled"] else ""))
    if run["cpu"] is not None:
        sent = 2 * run["expected"]
        print(f"  notify workers' CPU: {run['cpu']:.2f} s in all, {run['cpu'] / sent * 1000:.2f} ms per delivery")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firings", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4, help="processes of each of the two notify workers")
    parser.add_argument("--no-kill", action="store_true", help="skip the burst with a worker killed")
    args = parser.parse_args()

    stack = Stack(access_log=False)
    workdir = stack.workdir
    record = workdir / "webhooks.jsonl"
    record.touch()
    receivers = [
        service_start("receiver", [PYTHON, "-m", "alerts.tests.webhook_receiver", "--record", str(record)], workdir),
        service_start("telegram", [PYTHON, "-m", "alerts.tests.telegram_imitation", "--token", TOKEN], workdir),
    ]
    (_, hook_port), (_, telegram_port) = receivers
    stack.env.update(
        ALERTS_ENGINE_ENABLED="false",  # the burst is stored by this process; no engine needed
        WEBHOOK_ALLOW_PRIVATE="true",
        TELEGRAM_API_URL=f"http://127.0.0.1:{telegram_port}",
        TELEGRAM_BOT_TOKEN=TOKEN,
        NOTIFY_CLAIM_LEASE="15",  # a killed worker's claims are taken back after 15 s, not a minute
        LOG_LEVEL="INFO",
    )
    try:
        with stack:
            for name in ("notify1", "notify2"):
                worker_start(stack, name, args.concurrency)
            stack._spawn("beat", [str(BIN / "celery"), "-A", "scalpaiboard", "beat", "-s", str(workdir / "beat")])
            os.environ.update({k: v for k, v in stack.env.items() if k not in ("PYTEST_XDIST_WORKER",)})
            os.environ.update(DATABASE_URL=PG_URL, LOG_LEVEL="WARNING")
            import django

            django.setup()
            cookies, alert_ids = data_create(
                users=args.users, alerts=args.firings, webhook_url=f"http://127.0.0.1:{hook_port}/"
            )
            log(f"{args.users} users, {len(alert_ids):,} alerts, each to a webhook and a Telegram chat")
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            time.sleep(3)  # the workers are up and beat has synced its schedule
            base = baseline(f"http://127.0.0.1:{hook_port}/", args.firings, 2 * args.concurrency)
            services = (record, telegram_port)
            runs = [("Burst", burst_run(stack, loop, cookies, alert_ids, services, price=1.0))]
            if not args.no_kill:
                kill = ("notify1", args.concurrency)
                killed = burst_run(stack, loop, cookies, alert_ids, services, price=2.0, kill=kill)
                runs.append(("Burst with kill -9", killed))
    finally:
        for process, _ in receivers:
            os.killpg(process.pid, signal.SIGTERM)
    print(
        f"\nNotification delivery, full stack: {args.users} users, two notify workers of {args.concurrency} processes"
    )
    print(
        f"  baseline: {args.firings:,} signed webhooks POSTed straight to the receiver, "
        f"{2 * args.concurrency} threads: "
        f"{figures(base)}"
    )
    for name, run in runs:
        report(name, run)


if __name__ == "__main__":
    main()
