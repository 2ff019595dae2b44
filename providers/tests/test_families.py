"""Every wire-protocol family through the same request path (``completion_stream``): usage and exact
cost recorded, and one conversation carried across all of them — a tool call made on one provider is
answered on the next, whose local server checks that each result answers a call it was shown."""

from __future__ import annotations

import json
from contextlib import ExitStack
from decimal import Decimal

import pytest

from providers.adapters.base import Message, TextDelta, ToolCall, ToolSpec
from providers.completion import Charged, Served, completion_stream
from providers.models import UsageRecord
from providers.tests.family_servers import FAMILIES, started
from providers.tests.imitation_script import ScriptedToolCall, Turn
from providers.tests.openai_imitation import openai_imitation_running

pytestmark = pytest.mark.django_db


@pytest.fixture
def stack():
    with ExitStack() as stack:
        yield stack


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_records_usage_at_its_exact_cost(user, provider_make, stack, family):
    model, prices = FAMILIES[family]
    server, fields = started(stack, family)
    provider_make(user, model=model, base_url=server.url, **fields)
    server.script([Turn(text=("Hel", "lo"), input_tokens=12_345, cached_input_tokens=2_000, output_tokens=678)])
    events = list(completion_stream(user=user, messages=[Message("user", "Hi")], max_tokens=1000))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello"
    price_in, price_cached, price_out = (Decimal(p) for p in prices)
    expected = (10_345 * price_in + 2_000 * price_cached + 678 * price_out) / 1_000_000
    assert events[-1].cost_usd == expected
    record = UsageRecord.objects.get()
    assert (record.input_tokens, record.cached_input_tokens, record.output_tokens) == (12_345, 2_000, 678)
    assert record.cost_usd == expected


def test_openrouter_reports_its_own_cost_which_wins(user, provider_make, stack):
    server = stack.enter_context(openai_imitation_running(flavor="openrouter"))
    provider_make(user, kind="openrouter", model="openai/gpt-4o", base_url=server.url)
    server.script([Turn(text=("ok",), input_tokens=100, output_tokens=10, reported_cost="0.0012345")])
    events = list(completion_stream(user=user, messages=[Message("user", "Hi")]))
    assert events[-1].cost_usd == Decimal("0.0012345") == UsageRecord.objects.get().cost_usd


QUOTE = ToolSpec("get_quote", "The last price of a coin.", {
    "type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"],
})  # fmt: skip
ORDER = ("openai", "anthropic", "bedrock", "google", "mistral", "vertex")


def test_one_conversation_continues_across_every_family(user, provider_make, stack):
    """Each family in turn answers the history so far with a tool call; its result goes into the
    history, and the next family (another wire format, other id rules) carries on from there."""
    history = [Message("system", "You quote coins."), Message("user", "Quote BTC, then ETH, then SOL.")]
    servers = {}
    for priority, family in enumerate(ORDER):
        server, fields = started(stack, family)
        servers[family] = server
        provider_make(user, name=family, model=FAMILIES[family][0], base_url=server.url, priority=priority, **fields)
    for round_, family in enumerate(ORDER):
        call = ScriptedToolCall(f"foreign.id:{round_}/{family}", "get_quote", ('{"sym', f'bol": "C{round_}"}}'))
        servers[family].script([Turn(text=(f"round {round_} ",), tool_calls=(call,))])
        events = list(completion_stream(user=user, messages=history, tools=[QUOTE], provider_id=_id(family)))
        assert events[0].provider == family
        calls = [e for e in events if isinstance(e, ToolCall)]
        assert [c.arguments for c in calls] == [{"symbol": f"C{round_}"}]
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        history += [
            Message("assistant", text, tool_calls=tuple(calls)),
            Message("tool", json.dumps({"price": 100 + round_}), tool_call_id=calls[0].id, name="get_quote"),
        ]
    servers["openai"].script([Turn(text=("done",))])
    final = list(completion_stream(user=user, messages=history, tools=[QUOTE], provider_id=_id("openai")))
    assert isinstance(final[0], Served) and isinstance(final[-1], Charged)
    sent = servers["openai"].requests[-1]["body"]["messages"]
    results = [m for m in sent if m["role"] == "tool"]
    assert [json.loads(m["content"])["price"] for m in results] == [100, 101, 102, 103, 104, 105]
    called = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    assert [m["tool_call_id"] for m in results] == called


def _id(name: str) -> int:
    from providers.models import ProviderConfig

    return ProviderConfig.objects.get(name=name).pk
