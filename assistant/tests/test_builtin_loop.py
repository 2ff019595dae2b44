"""The built-in assistant through the real chat loop (assistant/loop.py): with no provider it answers,
its calls run as tools, the history the loop rebuilds each round carries it to the follow-ups, and the
answer is stored at no cost. The tools are stand-ins here (their own tests are the tools helper's):
what is checked is the built-in's part of the round trip."""

from __future__ import annotations

import sys
import types

import pytest
from django.contrib.auth import get_user_model

from assistant.loop import chat_run
from assistant.models import Conversation, Message, ToolAction
from assistant.relay import relay_read
from assistant.tests.test_builtin_answers import ISSUE_REQUEST, SCREEN_ROWS
from assistant.tools.base import ToolError, ToolOutcome
from assistant.tools.schemas import SCHEMAS
from providers.adapters.base import ToolSpec

RESULTS = {
    "filter_coins": {"count": 2, "coins": SCREEN_ROWS},
    "add_to_watchlist": {"watchlist": "Watchlist"},
    "create_alert": {"id": 7, "condition": {"kind": "rsi_crosses_above", "level": 50, "length": 14}},
}


class StandInTool:
    def __init__(self, name: str):
        self.name, self.parameters = name, SCHEMAS[name]
        self.mutates = name in {"create_alert", "add_to_watchlist"}


@pytest.fixture
def tools_ran(monkeypatch) -> list[tuple[str, dict]]:
    ran = []

    def tool_run(*, user, name: str, arguments: dict) -> ToolOutcome:
        ran.append((name, arguments))
        return ToolOutcome(RESULTS[name], undo={"id": 1} if name in {"create_alert", "add_to_watchlist"} else None)

    module = types.ModuleType("assistant.tools")
    module.TOOLS = {name: StandInTool(name) for name in SCHEMAS}
    module.ToolError = ToolError
    module.tool_run = tool_run
    module.tool_specs = lambda: [ToolSpec(name, name, schema) for name, schema in SCHEMAS.items()]
    monkeypatch.setitem(sys.modules, "assistant.tools", module)
    return ran


def _ask(text: str) -> Message:
    user = get_user_model().objects.create_user(username="trader", password="a-long-test-pw")
    conversation = Conversation.objects.create(user=user, title=text[:40])
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content=text)
    answer = Message.objects.create(conversation=conversation, role=Message.Role.ASSISTANT)
    chat_run(message_id=answer.pk)
    answer.refresh_from_db()
    return answer


def test_the_issue_request_runs_through_the_loop_in_three_rounds_at_no_cost(coins, tools_ran):
    answer = _ask(ISSUE_REQUEST)

    assert [name for name, _ in tools_ran] == ["filter_coins"] + ["add_to_watchlist"] * 2 + ["create_alert"] * 2
    assert [c["round"] for c in answer.tool_calls] == [0, 1, 1, 1, 1]
    assert len(answer.rounds) == 3 and all(r["cost_usd"] == "0" for r in answer.rounds)
    assert answer.cost_usd == 0 and not answer.incomplete and answer.error == ""
    assert "Created 2 alerts on [DOGE](/coins/DOGE), [PEPE](/coins/PEPE)" in answer.content
    assert ToolAction.objects.filter(message=answer, tool="create_alert").count() == 2


def test_the_loop_relays_tokens_tool_calls_and_results_in_order(coins, tools_ran):
    answer = _ask("alert me when BTC crosses 100000")

    kinds = [e["event"] for e in relay_read(message_id=answer.pk, timeout=0)]
    # The in-memory relay outlives a test's database: an earlier test's message may have had this id.
    kinds = kinds[len(kinds) - 1 - kinds[::-1].index("conversation") :]
    assert kinds[-1] == "done"
    assert kinds.index("token") < kinds.index("tool_call") < kinds.index("tool_result")
    assert kinds.count("usage") == 2  # one per round: the call, then the answer
    assert tools_ran == [("create_alert", {"symbol": "BTC", "condition": {"kind": "crossing", "level": 100000}})]
