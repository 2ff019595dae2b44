"""The assistant on the full stack: the relay's cost per token, and the built-in assistant's first token.

The stack: PostgreSQL and Redis (scratch database, see ``_stack.py``), ``run_feed``, one ``daphne``
and one Celery worker on the queue ``ai`` as docker-compose runs it (prefork, ``--concurrency``, 20
by default: one process per answer being written), and a local provider (OpenAI chat completions,
bench/_assistant_provider.py, a process of its own) that streams ``--tokens`` chunks per answer, one
every ``--gap`` seconds, each chunk reading ``<index@time sent>``.

1. **Relay.** ``--chats`` users, each with the local provider configured, ask at the same moment
   (``POST /api/ai/chat``, a JWT, aiohttp); a round of the same first warms the worker's
   processes. Per token: arrival at the SSE client minus the time the provider sent it (both the
   machine clock) — the provider → SDK → loop → Redis stream → daphne → client path. Baseline in the
   same run: as many clients streaming straight from the provider, the same client code. Tokens lost,
   duplicated and reordered are counted from the indices; CPU of daphne and of the worker (all its
   processes) per token delivered, from /proc.
2. **Built-in assistant.** Users with no provider ask "show coins with RSI below 30 on 1h" (the
   screener over every loaded coin), ``--builtin`` times one after another; time from the POST to the
   first ``token`` event, with the times of the other events as the split of where it goes.

Aims (issue 16): relay overhead p95 under 10 ms with 20 concurrent chats, no token lost or
reordered; built-in first token p95 under 100 ms.

Run from the project root: ``.venv/bin/python bench/assistant.py`` (~2 min; ``--asgi-app
bench._assistant_async_sse:application`` for the A/B run of the streaming fix). Uses Redis dbs 10
and 11 unless BENCH_REDIS_URL / BENCH_BROKER_URL say.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _stack
from _assistant_clients import Stream, chat, delays_ms, direct, integrity
from _assistant_profile import builtin_profile, relay_profile
from _stack import BIN, PG_URL, PYTHON, ROOT, CpuMeter, Stack, die_with_parent, fmt, log, percentile, table, verdict

_stack.REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
_stack.CELERY_BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/11")
SCREENER = "show coins with RSI below 30 on 1h"
RELAY_AIM_MS = 10.0
FIRST_TOKEN_AIM_MS = 100.0


def provider_start(workdir: Path, tokens: int, gap: float) -> tuple[subprocess.Popen, str]:
    argv = [PYTHON, str(ROOT / "bench" / "_assistant_provider.py"), "--tokens", str(tokens), "--gap", str(gap)]
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=(workdir / "provider.err").open("wb"),
        text=True,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    line = process.stdout.readline()
    if not line.startswith("listening "):
        sys.exit(f"the provider did not start: {line!r}; see {workdir / 'provider.err'}")
    return process, f"http://127.0.0.1:{int(line.split()[1])}/v1"


def users_make(prefix: str, count: int, provider_url: str | None) -> list[str]:
    """Users (with the local provider when given); the Authorization header of each (a JWT, as an API
    client signs in: a session cookie would need the CSRF dance on every POST)."""
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    from providers.services import provider_create

    headers = []
    for n in range(count):
        user = get_user_model().objects.create_user(
            username=f"{prefix}-{n}", email=f"{prefix}-{n}@example.com", password="pw-bench-123456"
        )
        if provider_url:
            data = {
                "kind": "openai",
                "model": "gpt-imitation",
                "api_key": "sk-bench-0123456789",
                "base_url": provider_url,
            }
            provider_create(user=user, data=data)
        headers.append(f"Bearer {RefreshToken.for_user(user).access_token}")
    return headers


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


async def chats_at_once(base: str, users: list[str]) -> list[Stream]:
    import aiohttp

    # a stalled stream fails rather than hangs; main's buffered answer sends nothing until its end
    timeout = aiohttp.ClientTimeout(total=None, sock_read=150)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        return await asyncio.gather(*(chat(session, f"{base}/api/ai/chat", "Write 300 words", c) for c in users))


async def direct_at_once(provider_url: str, count: int) -> list[Stream]:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        return await asyncio.gather(*(direct(session, provider_url) for _ in range(count)))


async def builtin_one_by_one(base: str, users: list[str]) -> list[Stream]:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        return [await chat(session, f"{base}/api/ai/chat", SCREENER, user) for user in users]


def relay_run(stack: Stack, users: list[str], provider_url: str, tokens: int) -> dict:
    log(f"warm-up: {len(users)} chats at once")
    asyncio.run(chats_at_once(stack.base_url, users))
    worker_cpu = group_cpu(stack.pid("ai"))
    meter = CpuMeter({"daphne": stack.pid("daphne")}).start()
    log(f"measured: {len(users)} chats at once, {tokens} tokens each")
    streams = asyncio.run(chats_at_once(stack.base_url, users))
    cpu = meter.stop()
    wall = time.monotonic() - meter._wall
    worker_seconds = group_cpu(stack.pid("ai")) - worker_cpu
    log(f"baseline: {len(users)} streams straight from the provider")
    base = asyncio.run(direct_at_once(provider_url, len(users)))
    delivered = sum(len(s.tokens) for s in streams)
    return {
        "relay": streams,
        "baseline": base,
        "daphne_ms": cpu["daphne"] / 100 * wall * 1000 / max(1, delivered),
        "worker_ms": worker_seconds * 1000 / max(1, delivered),
        "machine": cpu["machine (all cores)"],
        "delivered": delivered,
    }


def relay_report(run: dict, chats: int, tokens: int, gap: float) -> bool:
    relay, base = delays_ms(run["relay"]), delays_ms(run["baseline"])
    checks = integrity(run["relay"], tokens)
    base_checks = integrity(run["baseline"], tokens)
    rows = [
        ["assistant (daphne + ai worker)", len(relay), *(fmt(percentile(relay, p), 2) for p in (50, 95, 99, 100))],
        ["baseline (straight from provider)", len(base), *(fmt(percentile(base, p), 2) for p in (50, 95, 99, 100))],
    ]
    p95 = percentile(relay, 95)
    print(f"\n1. Relay: {chats} concurrent chats x {tokens} tokens, one every {gap * 1000:.0f} ms (full stack)")
    print(table(["per token: arrival - sent (ms)", "tokens", "p50", "p95", "p99", "max"], rows))
    print(f"  relay overhead over the baseline: p50 {fmt(percentile(relay, 50) - percentile(base, 50), 2)} ms, "
          f"p95 {fmt(p95 - percentile(base, 95), 2)} ms")  # fmt: skip
    print(f"  tokens lost {checks.lost}, duplicated {checks.duplicated}, reordered {checks.reordered}; streams "
          f"failed {checks.streams_failed} (baseline: lost {base_checks.lost}, "
          f"reordered {base_checks.reordered})")  # fmt: skip
    print(f"  CPU per token delivered: daphne {run['daphne_ms']:.3f} ms, ai worker (all processes) "
          f"{run['worker_ms']:.3f} ms; machine {run['machine']:.0f} % busy during the run")  # fmt: skip
    ok_latency = p95 < RELAY_AIM_MS
    ok_integrity = checks.lost == checks.reordered == checks.duplicated == checks.streams_failed == 0
    print(
        f"  aim p95 < {RELAY_AIM_MS:.0f} ms: {verdict(ok_latency)};  "
        f"aim none lost or reordered: {verdict(ok_integrity)}"
    )
    errors = {s.error for s in run["relay"] if s.error}
    if errors:
        print(f"  errors: {sorted(errors)[:3]}")
    return ok_latency and ok_integrity


def since_post(streams: list[Stream], event: str) -> list[float]:
    return sorted((s.first(event) - s.started) * 1000 for s in streams if s.first(event) is not None)


def builtin_report(streams: list[Stream], coins: int) -> bool:
    first = since_post(streams, "token")
    print(f"\n2. Built-in assistant: {SCREENER!r} over {coins} coins, {len(streams)} requests one by one (full stack)")
    rows = []
    for name in ("conversation", "tool_call", "tool_result", "token", "done"):
        values = since_post(streams, name)
        rows.append([f"POST -> first {name}", len(values), *(fmt(percentile(values, p), 1) for p in (50, 95, 100))])
    worker = sorted(float(data["latency_ms"]) for s in streams for e, data, _ in s.events if e == "done")
    figures = (fmt(percentile(worker, p), 1) for p in (50, 95, 100))
    rows.append(["run in the worker (done.latency_ms)", len(worker), *figures])
    print(table(["ms", "answers", "p50", "p95", "max"], rows))
    spread = sorted((s.events[-1][2] - s.events[0][2]) * 1000 for s in streams if s.events)
    print(
        f"  first to last event at the client: p50 {fmt(percentile(spread, 50), 2)} ms "
        "(near 0: all came at once, the answer was buffered)"
    )
    errors = {s.error for s in streams if s.error}
    if errors:
        print(f"  errors: {sorted(errors)[:3]}")
    ok = len(first) == len(streams) and percentile(first, 95) < FIRST_TOKEN_AIM_MS
    print(f"  aim first token p95 < {FIRST_TOKEN_AIM_MS:.0f} ms: {verdict(ok)}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between the provider's chunks")
    parser.add_argument("--concurrency", type=int, default=20, help="processes of the ai worker")
    parser.add_argument("--builtin", type=int, default=50, help="built-in screener questions")
    parser.add_argument("--asgi-app", default="scalpaiboard.asgi:application")
    parser.add_argument("--strict", action="store_true", help="exit 1 when an aim is missed")
    parser.add_argument("--no-profile", action="store_true", help="skip the built-in answer's profile")
    args = parser.parse_args()

    if not os.environ.get("FIELD_ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet

        os.environ["FIELD_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    stack = Stack(access_log=False, application=args.asgi_app)
    stack.env.update(RATE_LIMIT_AI_CHAT_RPM="0", LOG_LEVEL="INFO")
    provider, provider_url = provider_start(stack.workdir, args.tokens, args.gap)
    try:
        with stack:
            argv = [str(BIN / "celery"), "-A", "scalpaiboard", "worker", "-Q", "ai", "-n", "ai@%h", "--purge"]
            stack._spawn("ai", [*argv, "--concurrency", str(args.concurrency), "-l", "info"])
            os.environ.update(stack.env)
            os.environ.update(DATABASE_URL=PG_URL, LOG_LEVEL="WARNING")
            import django

            django.setup()
            from markets.models import Coin

            coins = Coin.objects.count()
            relay_users = users_make("bench-relay", args.chats, provider_url)
            builtin_users = users_make("bench-builtin", args.builtin, None)
            deadline = time.monotonic() + 120
            while "ready" not in (stack.workdir / "ai.log").read_text() and time.monotonic() < deadline:
                time.sleep(0.5)
            log(f"ai worker ready; {coins} coins; serving {args.asgi_app}")
            run = relay_run(stack, relay_users, provider_url, args.tokens)
            log(f"built-in: {args.builtin} screener questions")
            builtin = asyncio.run(builtin_one_by_one(stack.base_url, builtin_users))
            if not args.no_profile:
                log("profile: built-in answers in this process")
                profile = builtin_profile(SCREENER)
                log("profile: a provider answer in this process")
                profile_relay = relay_profile(provider_url)
    finally:
        os.killpg(provider.pid, signal.SIGTERM)
    print(f"\nAssistant, full stack: one daphne ({args.asgi_app}), one ai worker of {args.concurrency} processes")
    met = relay_report(run, args.chats, args.tokens, args.gap)
    met = builtin_report(builtin, coins) and met
    if not args.no_profile:
        print(f"\n3. Where a built-in answer's time goes (chat_run in the benchmark's process, same stores)\n{profile}")
        print(f"\n4. A provider answer's CPU in the writer (chat_run in this process, own time)\n{profile_relay}")
    if args.strict and not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
