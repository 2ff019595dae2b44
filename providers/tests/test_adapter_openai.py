"""The OpenAI-compatible adapter through the real `openai` SDK against the local chat-completions
imitation: streamed text and tool calls, usage and cost, stop reasons, the request sent, the model list.
Its errors are in test_adapter_openai_errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.adapters import adapter_for
from providers.adapters.base import (
    AuthenticationError,
    Credentials,
    Message,
    Options,
    Stop,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from providers.tests import openai_fixtures
from providers.tests.imitation_script import ScriptedToolCall, Turn, text_turn
from providers.tests.openai_fixtures import KEY, run, sent
from providers.tests.openai_imitation import OpenAITurn

# The fixtures, assigned rather than imported (ruff reads an imported fixture as unused).
server = openai_fixtures.server
imitation = openai_fixtures.imitation


# --- the answer --------------------------------------------------------------------------------


def test_text_streams_in_order_then_usage_and_stop(imitation):
    imitation.script([text_turn("Bitcoin ", "is ", "up.", input_tokens=12, output_tokens=3)])

    events = run(imitation)

    assert events == [TextDelta("Bitcoin "), TextDelta("is "), TextDelta("up."), Usage(12, 0, 3), Stop("end")]


def test_tool_call_arguments_split_in_fragments_are_joined(imitation):
    fragments = ('{"sym', 'bol": "B', 'TC", "timef', 'rame": "1h"}')
    imitation.script([Turn(tool_calls=(ScriptedToolCall("call_a1", "get_price", fragments),))])

    events = run(imitation)

    assert events[0] == ToolCall(id="call_a1", name="get_price", arguments={"symbol": "BTC", "timeframe": "1h"})
    assert events[-1] == Stop("tool_calls")


def test_parallel_tool_calls_interleaved_are_joined_by_index(imitation):
    calls = (
        ScriptedToolCall("call_1", "get_price", ('{"symbol":', ' "BTC"}')),
        ScriptedToolCall("call_2", "get_price", ('{"symbol":', ' "ETH"', "}")),
        ScriptedToolCall("call_3", "list_alerts", ()),
    )
    imitation.script([Turn(text=("Checking.",), tool_calls=calls)])

    events = run(imitation)

    assert events[:4] == [
        TextDelta("Checking."),
        ToolCall("call_1", "get_price", {"symbol": "BTC"}),
        ToolCall("call_2", "get_price", {"symbol": "ETH"}),
        ToolCall("call_3", "list_alerts", {}),
    ]
    assert events[4:] == [Usage(10, 0, 5), Stop("tool_calls")]


def test_arguments_that_are_not_a_json_object_are_kept_raw(imitation):
    calls = (ScriptedToolCall("c1", "get_price", ('{"symbol": "BT',)), ScriptedToolCall("c2", "get_price", ("[1, 2]",)))
    imitation.script([Turn(tool_calls=calls)])

    events = run(imitation)

    assert events[:2] == [
        ToolCall("c1", "get_price", {}, invalid_arguments='{"symbol": "BT'),
        ToolCall("c2", "get_price", {}, invalid_arguments="[1, 2]"),
    ]


def test_usage_comes_from_the_include_usage_chunk_with_cached_tokens(imitation):
    imitation.script([text_turn("ok", input_tokens=2000, cached_input_tokens=1536, output_tokens=40)])

    events = run(imitation)

    assert events[-2] == Usage(input_tokens=2000, cached_input_tokens=1536, output_tokens=40)
    assert sent(imitation)["stream_options"] == {"include_usage": True}


def test_groq_usage_is_read_from_x_groq(imitation):
    imitation.reset(flavor="groq", api_key=KEY)
    imitation.script([text_turn("ok", input_tokens=77, cached_input_tokens=64, output_tokens=9)])

    events = run(imitation, kind="groq")

    assert events[-2:] == [Usage(77, 64, 9), Stop("end")]


def test_mistral_gets_no_stream_options_and_its_usage_is_read_from_the_finish_chunk(imitation):
    imitation.reset(flavor="mistral", api_key=KEY)  # refuses stream_options and max_completion_tokens
    imitation.script([text_turn("Bonjour", input_tokens=31, output_tokens=4)])

    events = run(imitation, kind="mistral")

    assert events == [TextDelta("Bonjour"), Usage(31, 0, 4), Stop("end")]
    assert sent(imitation)["max_tokens"] == 300


def test_openrouter_cost_is_taken_exactly_and_its_comment_lines_ignored(imitation):
    imitation.reset(flavor="openrouter", api_key=KEY)
    imitation.script([text_turn("a", "b", input_tokens=194, output_tokens=2, reported_cost="0.000123456789")])

    events = run(imitation, kind="openrouter")

    assert events == [TextDelta("a"), TextDelta("b"), Usage(194, 0, 2, Decimal("0.000123456789")), Stop("end")]


def test_usage_has_no_cost_when_the_provider_reports_none(imitation):
    imitation.script([text_turn("a")])

    assert run(imitation)[-2].cost_usd is None


@pytest.mark.parametrize(
    ("finish_reason", "stop"),
    [("stop", "end"), ("length", "max_tokens"), ("content_filter", "content_filter"), ("error", "other")],
)
def test_finish_reasons_become_stop_reasons(imitation, finish_reason, stop):
    imitation.script([OpenAITurn(text=("x",), finish_reason=finish_reason)])

    assert run(imitation)[-1] == Stop(stop)


def test_stop_after_tool_calls_is_reported_as_tool_calls(imitation):
    imitation.script([OpenAITurn(tool_calls=(ScriptedToolCall("c1", "list_alerts"),), finish_reason="stop")])

    assert run(imitation)[-1] == Stop("tool_calls")


# --- the request -----------------------------------------------------------------------------

TOOLS = [
    ToolSpec(
        "get_price",
        "The last price of a coin",
        {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]},
    )
]
ANTHROPIC_ID = "toolu_01A09q90qw90lq917835lq9"
HISTORY = [
    Message(role="system", content="You are a trading assistant."),
    Message(role="user", content="Price of BTC?"),
    Message(role="assistant", tool_calls=(ToolCall(ANTHROPIC_ID, "get_price", {"symbol": "BTC"}),)),
    Message(role="tool", tool_call_id=ANTHROPIC_ID, name="get_price", content='{"price": 97000.5}'),
]


def test_history_from_another_provider_is_sent_as_chat_messages(imitation):
    imitation.script([text_turn("BTC is at 97,000.5.")])

    run(imitation, messages=HISTORY, tools=TOOLS)

    assert sent(imitation)["messages"] == [
        {"role": "system", "content": "You are a trading assistant."},
        {"role": "user", "content": "Price of BTC?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": ANTHROPIC_ID,
                    "type": "function",
                    "function": {"name": "get_price", "arguments": '{"symbol": "BTC"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": ANTHROPIC_ID, "content": '{"price": 97000.5}'},
    ]


def test_tools_are_declared_as_functions_with_their_json_schema(imitation):
    imitation.script([text_turn("ok")])

    run(imitation, tools=TOOLS)

    assert sent(imitation)["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_price",
                "description": "The last price of a coin",
                "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]},
            },
        }
    ]


def test_no_tools_means_no_tools_field(imitation):
    imitation.script([text_turn("ok")])

    run(imitation)

    assert "tools" not in sent(imitation)


def history_with_two_calls(first: str, second: str) -> list[Message]:
    calls = (ToolCall(first, "get_price", {"symbol": "BTC"}), ToolCall(second, "get_price", {"symbol": "ETH"}))
    return [
        Message(role="user", content="BTC and ETH?"),
        Message(role="assistant", content="Looking.", tool_calls=calls),
        Message(role="tool", tool_call_id=second, name="get_price", content='{"price": 3500}'),
        Message(role="tool", tool_call_id=first, name="get_price", content='{"price": 97000}'),
    ]


def test_mistral_gets_nine_character_ids_mapped_the_same_way_each_time(imitation):
    imitation.reset(flavor="mistral", api_key=KEY)  # answers 400 to any other id
    imitation.script([text_turn("ok"), text_turn("ok")])
    history = history_with_two_calls(ANTHROPIC_ID, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q")

    run(imitation, kind="mistral", messages=history)
    run(imitation, kind="mistral", messages=history)

    first, second = (request["body"]["messages"] for request in imitation.requests)
    call_ids = [call["id"] for call in first[1]["tool_calls"]]
    assert all(len(id_) == 9 and id_.isalnum() for id_ in call_ids) and call_ids[0] != call_ids[1]
    assert [first[2]["tool_call_id"], first[3]["tool_call_id"]] == [call_ids[1], call_ids[0]]
    assert first[2]["name"] == "get_price"
    assert first == second


def test_mistral_keeps_ids_that_are_already_nine_characters(imitation):
    imitation.reset(flavor="mistral", api_key=KEY)
    imitation.script([text_turn("ok")])

    run(imitation, kind="mistral", messages=history_with_two_calls("D681PevKs", "Xq7vB2mZ9"))

    assert [call["id"] for call in sent(imitation)["messages"][1]["tool_calls"]] == ["D681PevKs", "Xq7vB2mZ9"]


def test_ids_over_forty_characters_are_shortened_consistently_for_openai(imitation):
    long_id = "projects/p/locations/us/calls/" + "x" * 40
    imitation.script([text_turn("ok")])

    run(imitation, messages=history_with_two_calls(long_id, "call_ok"))

    messages = sent(imitation)["messages"]
    mapped = messages[1]["tool_calls"][0]["id"]
    assert len(mapped) <= 40 and mapped == messages[3]["tool_call_id"]
    assert messages[1]["tool_calls"][1]["id"] == "call_ok"


@pytest.mark.parametrize(
    ("kind", "field"),
    [("openai", "max_completion_tokens"), ("groq", "max_completion_tokens"), ("together", "max_tokens")],
)
def test_the_output_limit_is_sent_in_the_field_the_kind_takes(imitation, kind, field):
    imitation.script([text_turn("ok")])

    run(imitation, kind=kind, options=Options(model="m", max_tokens=123, temperature=0.2))

    assert (sent(imitation)[field], sent(imitation)["temperature"], sent(imitation)["model"]) == (123, 0.2, "m")


def test_ollama_needs_no_key(imitation):
    imitation.reset(api_key=None)
    imitation.script([text_turn("hi")])

    events = run(imitation, kind="ollama", key="")

    assert events[0] == TextDelta("hi")
    assert imitation.requests[-1]["headers"]["Authorization"] == "Bearer no-key"


def test_the_processes_openai_environment_is_not_sent(imitation, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-operator-secret")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-operator")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-operator")
    imitation.reset(api_key=None)
    imitation.script([text_turn("hi")])

    run(imitation, kind="ollama", key="")

    headers = {name.lower(): value for name, value in imitation.requests[-1]["headers"].items()}
    assert headers["authorization"] == "Bearer no-key"
    assert "openai-organization" not in headers and "openai-project" not in headers


def test_huggingface_defaults_to_its_router():
    adapter = adapter_for(kind="huggingface", base_url=None, credentials=Credentials(api_key="hf_x"))

    assert adapter.base_url == "https://router.huggingface.co/v1"


# --- the model list ----------------------------------------------------------------------------


def test_list_models_answers_the_servers_ids_sorted(imitation):
    imitation.models = ["gpt-z", "gpt-a", "o-mini"]
    adapter = adapter_for(kind="openai", base_url=imitation.url, credentials=Credentials(api_key=KEY))

    assert adapter.list_models() == ["gpt-a", "gpt-z", "o-mini"]
    assert imitation.requests[-1]["path"] == "/v1/models"


def test_list_models_is_empty_where_the_server_has_no_list(imitation):
    root = imitation.url.removesuffix("/v1")  # no /models there: 404
    adapter = adapter_for(kind="openai", base_url=root, credentials=Credentials(api_key=KEY))

    assert adapter.list_models() == []


def test_list_models_with_a_wrong_key_is_an_authentication_error(imitation):
    adapter = adapter_for(kind="openai", base_url=imitation.url, credentials=Credentials(api_key=KEY + "x"))

    with pytest.raises(AuthenticationError) as raised:
        adapter.list_models()

    assert KEY not in str(raised.value)
