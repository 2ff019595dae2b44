"""Budgets hold under concurrency: reservations are one conditional UPDATE, so requests racing at the
edge of a budget cannot pass it together (PostgreSQL, each request in its own thread and connection)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from providers import budgets
from providers.adapters.base import Message
from providers.completion import BudgetBlocked, completion_stream
from providers.models import ProviderMonth, UsageRecord
from providers.tests.anthropic_imitation import anthropic_imitation_running
from providers.tests.anthropic_imitation.server import DEFAULT_KEY
from providers.tests.imitation_script import Turn


def together(count: int, work) -> list:
    """Run ``work(i)`` in ``count`` threads released at once; answers their results (or errors)."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except Exception as error:  # returned to the test, which asserts on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_reservations_never_exceed_the_budget(db, user, provider_make):
    config = provider_make(user, monthly_budget_usd="1.00")
    assert budgets.budget_reserve(provider=config, amount=Decimal("0.6"))
    assert not budgets.budget_reserve(provider=config, amount=Decimal("0.5"))
    assert budgets.budget_reserve(provider=config, amount=Decimal("0.4"))
    row = budgets.budget_settle(
        provider=config, reserved=Decimal("0.6"), cost=Decimal("0.1"), month=budgets.month_start()
    )
    assert (row.spent_usd, row.reserved_usd) == (Decimal("0.1"), Decimal("0.4"))


def test_a_budget_that_does_not_block_reserves_anyway(db, user, provider_make):
    config = provider_make(user, monthly_budget_usd="0.10", block_at_budget=False)
    assert budgets.budget_reserve(provider=config, amount=Decimal("5"))


postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")


@postgres_only
def test_twenty_racing_reservations_at_the_edge_pass_only_as_far_as_the_budget(transactional_db, user, provider_make):
    config = provider_make(user, monthly_budget_usd="1.00")
    ProviderMonth.objects.create(provider=config, month=budgets.month_start(), spent_usd=Decimal("0.55"))
    passed = together(20, lambda i: budgets.budget_reserve(provider=config, amount=Decimal("0.10")))
    assert passed.count(True) == 4 and passed.count(False) == 16
    row = ProviderMonth.objects.get(provider=config)
    assert row.spent_usd + row.reserved_usd == Decimal("0.95")


@postgres_only
def test_twenty_concurrent_requests_at_the_edge_of_a_budget_do_not_pass_it(transactional_db, user, provider_make):
    """Each request's worst case: its prompt plus max_tokens of output at $15 per million output tokens."""
    with anthropic_imitation_running(default_turn=Turn(text=("ok",), input_tokens=20, output_tokens=900)) as server:
        config = provider_make(user, kind="anthropic", model="claude-sonnet-4-5", api_key=DEFAULT_KEY,
                               base_url=server.url, monthly_budget_usd="0.20")  # fmt: skip
        ProviderMonth.objects.create(provider=config, month=budgets.month_start(), spent_usd=Decimal("0.10"))

        def ask(index: int) -> str:
            list(completion_stream(user=user, messages=[Message("user", f"question {index}")], max_tokens=1000))
            return "answered"

        outcomes = together(20, ask)
    answered = outcomes.count("answered")
    blocked = [o for o in outcomes if isinstance(o, BudgetBlocked)]
    assert answered + len(blocked) == 20 and answered >= 1 and blocked
    assert len(server.requests) == answered  # a blocked request never reached the provider
    row = ProviderMonth.objects.get(provider=config)
    assert row.reserved_usd == 0
    assert row.spent_usd <= Decimal("0.20")  # worst cases were reserved: not even one request's worth over
    spent = sum(r.cost_usd for r in UsageRecord.objects.filter(status="ok"))
    assert row.spent_usd == Decimal("0.10") + spent
