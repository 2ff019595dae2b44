"""A request through the user's providers: usage and exact cost recorded, fallback before the first
token only, budgets blocking without contacting the provider, the 80 % notice once, cancels recorded.
The far end is the local Anthropic Messages imitation, driven by the real SDK."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from alerts.models import Notification
from providers.adapters.base import AuthenticationError, Message, NetworkError, Stop, TextDelta
from providers.completion import BudgetBlocked, Charged, NoProvider, Served, completion_stream
from providers.models import ProviderMonth, UsageRecord
from providers.tests.anthropic_imitation import anthropic_imitation_running
from providers.tests.anthropic_imitation.server import DEFAULT_KEY
from providers.tests.imitation_script import ScriptedError, Turn

pytestmark = pytest.mark.django_db
HELLO = [Message("user", "Hello")]


@pytest.fixture
def imitation():
    with anthropic_imitation_running() as server:
        yield server


@pytest.fixture
def second():
    with anthropic_imitation_running() as server:
        yield server


@pytest.fixture
def claude(provider_make, imitation):
    def make(user, server=None, **fields):
        url = (server or imitation).url
        data = {"kind": "anthropic", "model": "claude-sonnet-4-5", "api_key": DEFAULT_KEY, "base_url": url, **fields}
        return provider_make(user, **data)

    return make


def run(**kwargs) -> list:
    return list(completion_stream(**kwargs))


def test_an_answer_streams_and_its_exact_cost_is_recorded(user, claude, imitation):
    config = claude(user)
    imitation.script([Turn(text=("Hel", "lo"), input_tokens=1200, cached_input_tokens=200, output_tokens=37)])
    events = run(user=user, messages=HELLO)
    assert isinstance(events[0], Served) and events[0].provider_id == config.pk
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello"
    assert isinstance(events[-2], Stop) and isinstance(events[-1], Charged)
    # claude-sonnet-4-5 from genai-prices: $3 input, $0.30 cache read, $15 output per million tokens
    expected = (1000 * Decimal(3) + 200 * Decimal("0.3") + 37 * Decimal(15)) / 1_000_000
    assert events[-1].cost_usd == expected
    record = UsageRecord.objects.get()
    assert (record.input_tokens, record.cached_input_tokens, record.output_tokens) == (1200, 200, 37)
    assert record.cost_usd == expected and record.status == "ok" and record.first_token_ms is not None
    month = ProviderMonth.objects.get(provider=config)
    assert month.spent_usd == expected and month.reserved_usd == 0


def test_configured_prices_override_the_list_price(user, claude, imitation):
    claude(user, price_input_per_mtok="1", price_output_per_mtok="2")
    imitation.script([Turn(text=("x",), input_tokens=500_000, cached_input_tokens=100_000, output_tokens=1000)])
    # no cached price configured beside an input price: cached tokens pay the configured input price
    assert run(user=user, messages=HELLO)[-1].cost_usd == Decimal("0.502")


def test_a_model_without_a_known_price_costs_unknown_not_zero(user, claude, imitation):
    config = claude(user, model="claude-imaginary-9")
    imitation.script([Turn(text=("x",), output_tokens=10)])
    assert run(user=user, messages=HELLO)[-1].cost_usd is None
    assert UsageRecord.objects.get().cost_usd is None
    assert ProviderMonth.objects.get(provider=config).spent_usd == 0


def test_a_retryable_failure_before_the_first_token_moves_to_the_next_provider(user, claude, imitation, second):
    claude(user, name="first", priority=0)
    claude(user, server=second, name="second", priority=1)
    imitation.script([Turn(error=ScriptedError(529, "Overloaded"))])
    second.script([Turn(text=("from the second",))])
    events = run(user=user, messages=HELLO)
    assert events[0].provider == "second" and events[0].tried == ("first",)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "from the second"
    statuses = dict(UsageRecord.objects.values_list("provider_name", "status"))
    assert statuses == {"first": "error", "second": "ok"}


def test_after_the_first_token_there_is_no_silent_switch(user, claude, imitation, second):
    claude(user, name="first", priority=0)
    claude(user, server=second, name="second", priority=1)
    imitation.script([Turn(text=("one ", "two ", "three"), cut_after=2)])
    seen = []
    with pytest.raises(NetworkError):
        for event in completion_stream(user=user, messages=HELLO):
            seen.append(event)
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "one two "
    assert second.requests == []
    record = UsageRecord.objects.get()
    assert record.status == "error" and record.output_tokens > 0  # what was streamed is charged (estimated)


def test_an_authentication_failure_is_not_retried_elsewhere(user, claude, imitation, second):
    claude(user, name="first", api_key="sk-ant-wrong-key-123456", priority=0)
    claude(user, server=second, name="second", priority=1)
    with pytest.raises(AuthenticationError) as raised:
        run(user=user, messages=HELLO)
    assert "sk-ant-wrong-key-123456" not in str(raised.value)
    assert second.requests == []


def test_a_blocking_budget_refuses_without_contacting_the_provider(user, claude, imitation):
    config = claude(user, monthly_budget_usd="1.00")
    ProviderMonth.objects.create(provider=config, month=_month(), spent_usd=Decimal("0.999"))
    with pytest.raises(BudgetBlocked) as raised:
        run(user=user, messages=HELLO, max_tokens=1000)
    assert "budget" in raised.value.message and "$1.00" in raised.value.message
    assert imitation.requests == []
    assert UsageRecord.objects.get().status == "blocked"
    assert ProviderMonth.objects.get(provider=config).reserved_usd == 0


def test_a_blocked_provider_falls_back_to_one_with_budget_left(user, claude, imitation, second):
    blocked = claude(user, name="first", monthly_budget_usd="0.00", priority=0)
    claude(user, server=second, name="second", priority=1)
    second.script([Turn(text=("ok",))])
    events = run(user=user, messages=HELLO)
    assert events[0].provider == "second" and imitation.requests == []
    assert UsageRecord.objects.get(provider=blocked).status == "blocked"


def test_a_budget_that_does_not_block_lets_requests_through(user, claude, imitation):
    config = claude(user, monthly_budget_usd="0.00", block_at_budget=False)
    imitation.script([Turn(text=("ok",))])
    assert isinstance(run(user=user, messages=HELLO)[-1], Charged)
    assert ProviderMonth.objects.get(provider=config).spent_usd > 0


def test_the_80_percent_notice_is_sent_once_a_month(user, claude, imitation):
    # $0.30 a request against $1.00: the third crosses 80 %, the fourth passes 100 % (not blocking).
    claude(
        user, monthly_budget_usd="1.00", block_at_budget=False, price_input_per_mtok="0", price_output_per_mtok="300000"
    )
    imitation.default_turn = Turn(text=("x",), input_tokens=10, output_tokens=1)
    for _ in range(4):
        run(user=user, messages=HELLO)
    notices = Notification.objects.filter(user=user, kind=Notification.Kind.AI_BUDGET)
    assert notices.count() == 1
    assert "80 %" in notices.get().message or "90 %" in notices.get().message


def test_stopping_to_read_records_a_cancelled_request(user, claude, imitation):
    config = claude(user)
    imitation.script([Turn(text=("a", "b", "c", "d"), delay=0.05)])
    stream = completion_stream(user=user, messages=HELLO)
    for event in stream:
        if isinstance(event, TextDelta):
            break
    stream.close()
    record = UsageRecord.objects.get()
    assert record.status == "cancelled" and record.cost_usd > 0
    assert ProviderMonth.objects.get(provider=config).reserved_usd == 0


def test_no_provider_is_a_clear_error(user):
    with pytest.raises(NoProvider, match="No AI provider"):
        run(user=user, messages=HELLO)


def test_a_disabled_provider_is_not_used(user, claude):
    claude(user, enabled=False)
    with pytest.raises(NoProvider):
        run(user=user, messages=HELLO)


def _month():
    from providers.budgets import month_start

    return month_start()


def test_the_80_percent_notice_also_goes_to_the_users_channels(user, claude, imitation, settings):
    """Through the notification transports (a webhook here, to a local receiver), once."""
    from alerts.tests.delivery_helpers import channel_make
    from alerts.tests.webhook_receiver import WebhookReceiver

    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.CELERY_TASK_ALWAYS_EAGER = True  # sent from here; the full stack's notify worker does the same
    with WebhookReceiver() as receiver:
        channel_make(user, "webhook", url=receiver.url)
        claude(user, monthly_budget_usd="1.00", block_at_budget=False, price_input_per_mtok="0",
               price_output_per_mtok="900000")  # fmt: skip
        imitation.default_turn = Turn(text=("x",), input_tokens=10, output_tokens=1)
        with _on_commit_run():
            run(user=user, messages=HELLO)
            run(user=user, messages=HELLO)
        received = receiver.wait_for(1)
        time.sleep(0.3)  # a second notice, were there one, would be on its way by now
        received = receiver.requests
    assert len(received) == 1 and "AI provider Anthropic has used $0.90 of its $1.00" in received[0].text


def _on_commit_run():
    """Run on-commit callbacks as they are registered (the test's transaction never commits)."""
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=True)
