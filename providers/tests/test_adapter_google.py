"""The Google adapter through the real google-genai SDK against the local Gemini / Vertex imitation:
the answer, usage and stop reasons, the request sent, model lists, Vertex with a service account.
Its errors are in test_adapter_google_errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from providers.adapters.base import Message, Stop, TextDelta, ToolCall, Usage
from providers.tests import google_fixtures
from providers.tests.google_fixtures import ALERT_TOOL, API_KEY, HELLO, OPTIONS, PRICE_TOOL
from providers.tests.imitation_script import ScriptedToolCall, Turn, text_turn

# The fixtures, assigned rather than imported (ruff reads an imported fixture as unused).
server = google_fixtures.server
imitation = google_fixtures.imitation
adapter = google_fixtures.adapter
vertex = google_fixtures.vertex


def test_text_streams_in_order_then_usage_and_end(adapter, imitation):
    imitation.script([text_turn("The price ", "of BTC ", "is 97k.")])

    received = list(adapter.stream(HELLO, [], OPTIONS))

    assert received[:3] == [TextDelta("The price "), TextDelta("of BTC "), TextDelta("is 97k.")]
    assert received[3:] == [Usage(input_tokens=10, output_tokens=5), Stop("end")]
    request = imitation.requests[-1]
    assert request["path"] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert request["query"] == {"alt": "sse"}
    assert request["headers"]["x-goog-api-key"] == API_KEY
    assert request["headers"]["X-Server-Timeout"] == "600"  # the answer's deadline, not the 5 s between bytes
    assert request["body"]["generationConfig"]["maxOutputTokens"] == 256


def test_one_adapter_streams_to_many_threads_at_once(adapter, imitation):
    imitation.script([text_turn(*[f"{n} " for n in range(50)]) for _ in range(16)])

    def streamed_text(_) -> str:
        return "".join(e.text for e in adapter.stream(HELLO, [], OPTIONS) if isinstance(e, TextDelta))

    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(streamed_text, range(16)))

    assert texts == ["".join(f"{n} " for n in range(50))] * 16


def test_tool_call_from_argument_fragments_comes_whole_with_a_made_up_id(adapter, imitation):
    call = ScriptedToolCall(id="", name="get_price", argument_fragments=('{"sym', 'bol": ', '"BTCUSDT"}'))
    imitation.script([Turn(tool_calls=(call,)), Turn(tool_calls=(call,))])

    first = list(adapter.stream(HELLO, [PRICE_TOOL], OPTIONS))
    second = list(adapter.stream(HELLO, [PRICE_TOOL], OPTIONS))

    assert isinstance(first[0], ToolCall) and first[0].name == "get_price"
    assert first[0].arguments == {"symbol": "BTCUSDT"} and first[0].invalid_arguments is None
    assert first[0].id and first[0].id != second[0].id  # unique across answers: results match their call
    assert first[-1] == Stop("tool_calls")


def test_parallel_tool_calls_over_several_chunks_keep_their_ids_and_order(adapter, imitation):
    calls = tuple(
        ScriptedToolCall(id=f"call-{n}", name="get_price", argument_fragments=(f'{{"symbol": "S{n}"}}',))
        for n in range(3)
    )
    imitation.script([Turn(text=("Checking three prices.",), tool_calls=calls)])

    received = list(adapter.stream(HELLO, [PRICE_TOOL], OPTIONS))

    tool_calls = [e for e in received if isinstance(e, ToolCall)]
    assert [(c.id, c.arguments["symbol"]) for c in tool_calls] == [("call-0", "S0"), ("call-1", "S1"), ("call-2", "S2")]
    assert received[0] == TextDelta("Checking three prices.")
    assert received[-1] == Stop("tool_calls")


def test_usage_is_the_last_chunk_with_cached_tokens_inside_the_prompt_count(adapter, imitation):
    imitation.script([text_turn("a", "b", "c", input_tokens=1200, cached_input_tokens=1000, output_tokens=42)])

    received = list(adapter.stream(HELLO, [], OPTIONS))

    usages = [e for e in received if isinstance(e, Usage)]
    assert usages == [Usage(input_tokens=1200, cached_input_tokens=1000, output_tokens=42)]


@pytest.mark.parametrize(
    ("finish_reason", "stop"),
    [
        ("STOP", "end"),
        ("MAX_TOKENS", "max_tokens"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("OTHER", "other"),
    ],
)
def test_finish_reasons_become_stop_reasons(adapter, imitation, finish_reason, stop):
    imitation.finish_reason = finish_reason
    imitation.script([text_turn("partial answer")])

    received = list(adapter.stream(HELLO, [], OPTIONS))

    assert received[-1] == Stop(stop)


def test_arguments_that_are_not_an_object_come_back_as_an_invalid_call(adapter, imitation):
    call = ScriptedToolCall(id="c1", name="get_price", argument_fragments=('{"symbol": "BTC', "USDT"))
    imitation.script([Turn(tool_calls=(call,))])

    received = list(adapter.stream(HELLO, [PRICE_TOOL], OPTIONS))

    invalid = received[0]
    assert isinstance(invalid, ToolCall) and invalid.name == "get_price" and invalid.arguments == {}
    assert invalid.invalid_arguments and invalid.id
    assert received[-1] == Stop("tool_calls")


def test_history_from_another_provider_becomes_gemini_contents(adapter, imitation):
    history = [
        Message(role="system", content="You are Scalpaiboard's assistant."),
        Message(role="user", content="Price of BTC and an alert?"),
        Message(
            role="assistant",
            content="Let me check.",
            tool_calls=(
                ToolCall(id="toolu_01A", name="get_price", arguments={"symbol": "BTCUSDT"}),
                ToolCall(id="call_9|x", name="create_alert", arguments={"above": 1}),
                ToolCall(id="tooluse_Qx-7", name="get_price", arguments={"symbol": "ETHUSDT"}),
            ),
        ),
        # answered out of order: Gemini gets them in the order of the calls
        Message(role="tool", tool_call_id="tooluse_Qx-7", name="get_price", content="[1, 2]"),
        Message(role="tool", tool_call_id="call_9|x", name="create_alert", content='"bad threshold"', is_error=True),
        Message(role="tool", tool_call_id="toolu_01A", name="get_price", content='{"price": "97000.5"}'),
    ]
    imitation.script([text_turn("BTC is at 97k.")])

    list(adapter.stream(history, [PRICE_TOOL, ALERT_TOOL], OPTIONS))

    body = imitation.requests[-1]["body"]
    assert body["systemInstruction"]["parts"] == [{"text": "You are Scalpaiboard's assistant."}]
    user, model, results = body["contents"]
    assert user == {"role": "user", "parts": [{"text": "Price of BTC and an alert?"}]}
    assert model["role"] == "model" and model["parts"][0] == {"text": "Let me check."}
    first_call, *other_calls = model["parts"][1:]
    assert first_call["functionCall"] == {"id": "toolu_01A", "name": "get_price", "args": {"symbol": "BTCUSDT"}}
    assert first_call["thoughtSignature"] == "skip_thought_signature_validator"
    assert other_calls == [
        {"functionCall": {"id": "call_9|x", "name": "create_alert", "args": {"above": 1}}},
        {"functionCall": {"id": "tooluse_Qx-7", "name": "get_price", "args": {"symbol": "ETHUSDT"}}},
    ]
    assert results["role"] == "user"
    assert [part["functionResponse"] for part in results["parts"]] == [
        {"id": "toolu_01A", "name": "get_price", "response": {"price": "97000.5"}},
        {"id": "call_9|x", "name": "create_alert", "response": {"error": "bad threshold"}},
        {"id": "tooluse_Qx-7", "name": "get_price", "response": {"result": [1, 2]}},
    ]


def test_ids_made_up_for_id_less_calls_are_not_sent_back(adapter, imitation):
    call = ScriptedToolCall(id="", name="get_price", argument_fragments=('{"symbol": "ETHUSDT"}',))
    imitation.script([Turn(tool_calls=(call,)), text_turn("ETH is at 3k.")])
    made = next(e for e in adapter.stream(HELLO, [PRICE_TOOL], OPTIONS) if isinstance(e, ToolCall))
    history = [
        *HELLO,
        Message(role="assistant", tool_calls=(made,)),
        Message(role="tool", tool_call_id=made.id, content='{"price": "3000"}'),  # no name: the call's
    ]

    list(adapter.stream(history, [PRICE_TOOL], OPTIONS))

    _, model, result = imitation.requests[-1]["body"]["contents"]
    assert model["parts"][0]["functionCall"] == {"name": "get_price", "args": {"symbol": "ETHUSDT"}}
    assert result["parts"][0]["functionResponse"] == {"name": "get_price", "response": {"price": "3000"}}


def test_tools_are_declared_with_their_json_schema(adapter, imitation):
    imitation.script([text_turn("ok")])

    list(adapter.stream(HELLO, [PRICE_TOOL, ALERT_TOOL], OPTIONS))

    (tool,) = imitation.requests[-1]["body"]["tools"]
    declared = {
        d["name"]: (d["description"], d.get("parametersJsonSchema", d.get("parameters_json_schema")))
        for d in tool["functionDeclarations"]
    }
    assert declared == {
        "get_price": (PRICE_TOOL.description, PRICE_TOOL.parameters),
        "create_alert": (ALERT_TOOL.description, ALERT_TOOL.parameters),
    }


def test_list_models_gives_sorted_chat_model_ids_without_the_prefix(adapter, imitation):
    imitation.models = ["gemini-2.5-pro", "text-embedding-004", "gemini-2.5-flash"]

    assert adapter.list_models() == ["gemini-2.5-flash", "gemini-2.5-pro"]
    assert imitation.requests[-1]["path"] == "/v1beta/models"


def test_vertex_streams_with_a_token_from_the_service_account(vertex, imitation):
    imitation.script([text_turn("Vertex ", "answer")])

    received = list(vertex.stream(HELLO, [], OPTIONS))

    assert received[:2] == [TextDelta("Vertex "), TextDelta("answer")] and received[-1] == Stop("end")
    request = imitation.requests[-1]
    path = "/v1beta1/projects/scalp-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash"
    assert request["path"] == f"{path}:streamGenerateContent"
    assert request["headers"]["Authorization"].startswith("Bearer ya29.imitation-")
    assert imitation.token_requests[-1]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_vertex_names_the_malformed_call_among_several_tools(vertex, imitation):
    call = ScriptedToolCall(id="c1", name="create_alert", argument_fragments=("[1, 2]",))
    imitation.script([Turn(tool_calls=(call,))])

    received = list(vertex.stream(HELLO, [PRICE_TOOL, ALERT_TOOL], OPTIONS))

    assert received[0].name == "create_alert" and "[1, 2]" in received[0].invalid_arguments


def test_vertex_list_models(vertex, imitation):
    imitation.models = ["gemini-2.5-flash"]

    assert vertex.list_models() == ["gemini-2.5-flash"]
    assert imitation.requests[-1]["path"] == "/v1beta1/publishers/google/models"
