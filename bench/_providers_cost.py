"""Exactness of recorded costs, for ``bench/providers.py``: N requests through ``completion_stream``.

Two Anthropic providers of one user, served by the Anthropic imitation (a thread of this process: the
script of a thousand different turns lives here): one at genai-prices' list price of
``claude-sonnet-4-5``, one with price overrides. Requests alternate between them; each answers a turn
with seeded random token counts (input under 200,000, so that the list price's base tier applies;
cached at most the input; output under ``MAX_TOKENS``, so that no answer is cut by the limit). The
expected cost is computed here, in Decimal, from the scripted tokens and the published prices; then
compared with the sum of the recorded ``UsageRecord.cost_usd`` (read back and added in Python), with
the database's own ``SUM`` (what the usage API shows) and with ``ProviderMonth.spent_usd``.

The database: SQLite in a temporary VAR_DIR (the embedded mode's), or the PostgreSQL database of
BENCH_DATABASE_URL (migrated; this run's user and providers are deleted at the end).
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _stack import ROOT, log, table

MILLION = Decimal(1_000_000)
MAX_TOKENS = 4096
# claude-sonnet-4-5 per million tokens as Anthropic publishes it (prompts up to 200k tokens):
# input $3, cache read $0.30, output $15.
LIST_MODEL = "claude-sonnet-4-5"
LIST_PRICES = (Decimal("3"), Decimal("0.30"), Decimal("15"))
OVERRIDE_MODEL = "claude-haiku-4-5"
OVERRIDE_PRICES = (Decimal("0.987654"), Decimal("0.098765"), Decimal("4.321987"))


def django_ready() -> Path | None:
    """Set the environment up before Django reads it; the temporary VAR_DIR (None on PostgreSQL)."""
    for name in ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-providers-"))
    os.environ["VAR_DIR"] = str(var_dir)
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    if not os.environ.get("FIELD_ENCRYPTION_KEYS"):
        from cryptography.fernet import Fernet

        os.environ["FIELD_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scalpaiboard.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    # The project logs every SDK request at INFO (httpx); a thousand lines would bury the figures.
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(logging.WARNING)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"migrated the scratch database in {time.perf_counter() - started:.1f} s")
    return var_dir


def scripted(rng: random.Random) -> tuple[int, int, int]:
    input_tokens = rng.randint(1, 199_999)
    return input_tokens, rng.randint(0, input_tokens), rng.randint(1, MAX_TOKENS - 1)


def expected_cost(tokens: tuple[int, int, int], prices: tuple[Decimal, Decimal, Decimal]) -> Decimal:
    input_tokens, cached, output = tokens
    return ((input_tokens - cached) * prices[0] + cached * prices[1] + output * prices[2]) / MILLION


def run(*, requests: int, seed: int, month_spent: str = "0") -> bool:
    """Make the requests, print the sums; True when all of them agree exactly. ``month_spent``: what each
    provider had spent this month before (SQLite keeps 15 significant digits: see the README)."""
    var_dir = django_ready()
    try:
        return _run(requests, seed, Decimal(month_spent))
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(var_dir, ignore_errors=True)


def _run(requests: int, seed: int, month_spent: Decimal) -> bool:
    from django.contrib.auth import get_user_model

    from providers.tests.anthropic_imitation import anthropic_imitation_running

    user = get_user_model().objects.create_user(username=f"bench-cost-{time.time_ns()}", password="x" * 20)
    try:
        with anthropic_imitation_running() as imitation:
            configs = _providers(user, imitation.url, month_spent)
            expected, charged, elapsed = _requests(user, imitation, configs, requests, seed)
        return _report(configs, expected, charged, requests, elapsed, month_spent)
    finally:
        user.delete()


def _providers(user, url: str, month_spent: Decimal) -> list[tuple]:
    """(configuration, the prices it must pay) of the list-price provider and the overridden one."""
    from providers.budgets import month_start
    from providers.models import ProviderMonth
    from providers.services import provider_create
    from providers.tests.anthropic_imitation import DEFAULT_KEY

    common = {"kind": "anthropic", "api_key": DEFAULT_KEY, "base_url": url}
    common |= {"monthly_budget_usd": "1000000.00", "block_at_budget": True}  # reserved and settled, never hit
    listed = provider_create(user=user, data={**common, "name": "list price", "model": LIST_MODEL})
    fields = ("price_input_per_mtok", "price_cached_input_per_mtok", "price_output_per_mtok")
    overrides = {name: str(price) for name, price in zip(fields, OVERRIDE_PRICES, strict=True)}
    data = {**common, "name": "overrides", "model": OVERRIDE_MODEL, "priority": 1, **overrides}
    configs = [(listed, LIST_PRICES), (provider_create(user=user, data=data), OVERRIDE_PRICES)]
    for config, _ in configs:
        ProviderMonth.objects.create(provider=config, month=month_start(), spent_usd=month_spent)
    return configs


def _requests(user, imitation, configs, requests: int, seed: int) -> tuple[dict, dict, float]:
    """Make the requests; the expected cost and the Charged events' cost summed per provider, and the time."""
    from providers.adapters.base import Message
    from providers.completion import Charged, completion_stream
    from providers.tests.imitation_script import Turn

    rng = random.Random(seed)
    plan = [scripted(rng) for _ in range(requests)]
    imitation.script([Turn(text=("ok",), input_tokens=i, cached_input_tokens=c, output_tokens=o) for i, c, o in plan])
    expected = {config.pk: Decimal(0) for config, _ in configs}
    charged = dict(expected)
    log(f"{requests} requests through completion_stream")
    started = time.perf_counter()
    for index, tokens in enumerate(plan):
        config, prices = configs[index % 2]
        messages = [Message("user", "Hello")]
        events = list(
            completion_stream(user=user, messages=messages, provider_id=config.pk, only=True, max_tokens=MAX_TOKENS)
        )
        last = events[-1]
        charged[config.pk] += (
            last.cost_usd if isinstance(last, Charged) and last.cost_usd is not None else Decimal("NaN")
        )
        expected[config.pk] += expected_cost(tokens, prices)
    return expected, charged, time.perf_counter() - started


def _report(configs, expected: dict, charged: dict, requests: int, elapsed: float, month_spent: Decimal) -> bool:
    from django.db import connection
    from django.db.models import Sum

    from providers.models import ProviderMonth, UsageRecord

    rows, exact, totals = [], True, [Decimal(0), Decimal(0)]
    for config, prices in configs:
        records = UsageRecord.objects.filter(provider=config)
        recorded = sum((r.cost_usd for r in records.only("cost_usd")), Decimal(0))
        database_sum = records.aggregate(total=Sum("cost_usd"))["total"]
        spent = sum((row.spent_usd for row in ProviderMonth.objects.filter(provider=config)), Decimal(0))
        ok = records.filter(status="ok").count()
        same = expected[config.pk] == recorded == database_sum == spent - month_spent == charged[config.pk]
        same &= ok == records.count()
        exact &= same
        totals[0] += expected[config.pk]
        totals[1] += recorded
        rows.append(
            [
                f"{config.name} ({config.model}, ${'/'.join(str(price) for price in prices)})",
                ok,
                expected[config.pk],
                recorded,
                database_sum,
                spent - month_spent,
                "yes" if same else "NO",
            ]
        )
    print(
        f"\nExactness: {requests} requests through completion_stream, "
        f"{elapsed * 1000 / requests:.1f} ms each (database: {connection.vendor})\n"
    )
    headers = ["provider (model, $ in/cached/out per MTok)", "ok", "sum tokens x price / 10^6", "sum of cost_usd"]
    spent_header = "month spent_usd" + (f" - {month_spent}" if month_spent else "")
    print(table([*headers, "SQL SUM(cost_usd)", spent_header, "all equal"], rows))
    print(f"\nall providers: tokens x price {totals[0]}, recorded {totals[1]}: {'EXACT' if exact else 'NOT EXACT'}")
    return exact
