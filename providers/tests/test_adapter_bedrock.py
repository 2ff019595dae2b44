"""The Bedrock adapter through boto3's real `converse_stream` against the local Bedrock imitation
(AWS event-stream framing, SigV4-signed requests, Bedrock's request validation): the answer, the request,
models and clients. Its errors are in test_adapter_bedrock_errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from providers.adapters import adapter_for
from providers.adapters.base import (
    AuthenticationError,
    BadRequestError,
    Credentials,
    Message,
    Options,
    Stop,
    TextDelta,
    ToolCall,
    Usage,
)
from providers.adapters.bedrock_family import bedrock_tool_id, client_for
from providers.tests import bedrock_fixtures
from providers.tests.bedrock_fixtures import OPTIONS, QUOTE, SECRET, run, run_until_error
from providers.tests.bedrock_imitation import BedrockTurn
from providers.tests.imitation_script import ScriptedToolCall, Turn, text_turn

# The fixtures, assigned rather than imported (ruff reads an imported fixture as unused).
imitation = bedrock_fixtures.imitation
adapter = bedrock_fixtures.adapter


# --- the answer ------------------------------------------------------------------------------


def test_text_streams_in_order_then_usage_and_stop(adapter, imitation):
    imitation.script([text_turn("The ", "price ", "is up.")])

    events = run(adapter)

    assert events == [
        TextDelta("The "),
        TextDelta("price "),
        TextDelta("is up."),
        Usage(input_tokens=10, output_tokens=5),
        Stop("end"),
    ]


def test_tool_call_arguments_split_across_fragments_arrive_as_one_parsed_call(adapter, imitation):
    call = ScriptedToolCall(id="tooluse_Ab1", name="get_quote", argument_fragments=('{"sym', 'bol": ', '"BTC"}'))
    imitation.script([Turn(text=("Let me check.",), tool_calls=(call,))])

    events = run(adapter, tools=[QUOTE])

    assert events[:2] == [
        TextDelta("Let me check."),
        ToolCall(id="tooluse_Ab1", name="get_quote", arguments={"symbol": "BTC"}),
    ]
    assert events[-1] == Stop("tool_calls")


def test_parallel_tool_calls_are_each_yielded_once_complete(adapter, imitation):
    calls = tuple(
        ScriptedToolCall(id=f"tooluse_{s}", name="get_quote", argument_fragments=('{"symbol"', f': "{s}"}}'))
        for s in ("BTC", "ETH", "SOL")
    )
    imitation.script([Turn(tool_calls=calls)])

    tool_calls = [e for e in run(adapter, tools=[QUOTE]) if isinstance(e, ToolCall)]

    assert tool_calls == [
        ToolCall(id=f"tooluse_{s}", name="get_quote", arguments={"symbol": s}) for s in ("BTC", "ETH", "SOL")
    ]


def test_tool_call_without_argument_fragments_has_empty_arguments(adapter, imitation):
    imitation.script([Turn(tool_calls=(ScriptedToolCall(id="tooluse_1", name="list_alerts", argument_fragments=()),))])

    assert ToolCall(id="tooluse_1", name="list_alerts", arguments={}) in run(adapter, tools=[QUOTE])


@pytest.mark.parametrize("raw", ['{"symbol": "BTC"', "[1, 2]", "not json"])
def test_arguments_that_are_not_a_json_object_come_back_raw(adapter, imitation, raw):
    imitation.script(
        [Turn(tool_calls=(ScriptedToolCall(id="tooluse_1", name="get_quote", argument_fragments=(raw,)),))]
    )

    call = next(e for e in run(adapter, tools=[QUOTE]) if isinstance(e, ToolCall))

    assert (call.arguments, call.invalid_arguments) == ({}, raw)


def test_usage_counts_cache_reads_in_the_input_tokens(adapter, imitation):
    imitation.script([text_turn("ok", input_tokens=1200, cached_input_tokens=1000, output_tokens=42)])

    usage = next(e for e in run(adapter) if isinstance(e, Usage))

    assert usage == Usage(input_tokens=1200, cached_input_tokens=1000, output_tokens=42)


@pytest.mark.parametrize(
    ("turn", "reason"),
    [
        (text_turn("done"), "end"),
        (BedrockTurn(text=("done",), stop_reason="stop_sequence"), "end"),
        (Turn(tool_calls=(ScriptedToolCall(id="tooluse_1", name="get_quote"),)), "tool_calls"),
        (text_turn("cut", output_tokens=256), "max_tokens"),
        (BedrockTurn(text=("no",), stop_reason="guardrail_intervened"), "content_filter"),
        (BedrockTurn(text=("no",), stop_reason="content_filtered"), "content_filter"),
        (BedrockTurn(text=("?",), stop_reason="malformed_model_output"), "other"),
    ],
)
def test_stop_reason_is_normalised(adapter, imitation, turn, reason):
    imitation.script([turn])

    assert run(adapter, tools=[QUOTE])[-1] == Stop(reason)


# --- the request -----------------------------------------------------------------------------


def test_requests_are_signed_with_sigv4_for_the_configured_key_and_region(adapter, imitation):
    imitation.script([text_turn("hi")])

    run(adapter)

    request = imitation.requests[0]
    assert request["path"] == f"/model/{OPTIONS.model}/converse-stream"
    assert request["headers"]["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={imitation.access_key_id}/")
    assert "/eu-west-1/bedrock/aws4_request" in request["headers"]["Authorization"]


def test_history_from_another_provider_becomes_a_valid_converse_body(adapter, imitation):
    foreign_id = "call_8f2:Xy.z/1"  # an id Bedrock would refuse as a toolUseId
    history = [
        Message(role="system", content="You are a trading assistant."),
        Message(role="user", content="Price of BTC and ETH?"),
        Message(
            role="assistant",
            content="Checking both.",
            tool_calls=(
                ToolCall(id=foreign_id, name="get_quote", arguments={"symbol": "BTC"}),
                ToolCall(id="aZ3bC9dE1", name="get_quote", arguments={"symbol": "ETH"}),
            ),
        ),
        Message(role="tool", tool_call_id=foreign_id, name="get_quote", content='{"price": 97000.5}'),
        Message(role="tool", tool_call_id="aZ3bC9dE1", name="get_quote", content="unknown symbol", is_error=True),
        Message(role="user", content="And now?"),
    ]
    imitation.script([text_turn("BTC is at 97000.5.")])

    run(adapter, messages=history, tools=[QUOTE], options=Options(model="m", max_tokens=300, temperature=0.2))

    body = imitation.requests[0]["body"]
    mapped = bedrock_tool_id(foreign_id)
    assert body["system"] == [{"text": "You are a trading assistant."}]
    assert body["inferenceConfig"] == {"maxTokens": 300, "temperature": 0.2}
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Price of BTC and ETH?"}]},
        {
            "role": "assistant",
            "content": [
                {"text": "Checking both."},
                {"toolUse": {"toolUseId": mapped, "name": "get_quote", "input": {"symbol": "BTC"}}},
                {"toolUse": {"toolUseId": "aZ3bC9dE1", "name": "get_quote", "input": {"symbol": "ETH"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": mapped, "content": [{"json": {"price": 97000.5}}]}},
                {"toolResult": {"toolUseId": "aZ3bC9dE1", "content": [{"text": "unknown symbol"}], "status": "error"}},
                {"text": "And now?"},
            ],
        },
    ]


def test_foreign_tool_ids_map_deterministically_to_distinct_valid_ids():
    ids = ["call_8f2:Xy.z/1", "call_8f2:Xy.z/2", "x" * 80, "", "toolu_01A09q90qw90lq917835lq9"]

    mapped = [bedrock_tool_id(i) for i in ids]

    assert mapped == [bedrock_tool_id(i) for i in ids]
    assert len(set(mapped)) == len(ids)
    assert all(0 < len(m) <= 64 and m.replace("_", "").replace("-", "").isalnum() for m in mapped)
    assert mapped[-1] == ids[-1]


def test_tools_are_declared_in_tool_config(adapter, imitation):
    imitation.script([text_turn("ok")])

    run(adapter, tools=[QUOTE])

    assert imitation.requests[0]["body"]["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_quote",
                    "description": "Latest price of a coin",
                    "inputSchema": {"json": QUOTE.parameters},
                }
            }
        ]
    }
    assert "system" not in imitation.requests[0]["body"]


def test_history_with_tool_calls_but_no_tools_still_declares_the_tools_it_used(adapter, imitation):
    history = [
        Message(role="user", content="BTC?"),
        Message(role="assistant", tool_calls=(ToolCall(id="c1", name="get_quote", arguments={"symbol": "BTC"}),)),
        Message(role="tool", tool_call_id="c1", name="get_quote", content='{"price": 1}'),
    ]
    imitation.script([text_turn("It is 1.")])

    assert run(adapter, messages=history)[0] == TextDelta("It is 1.")
    assert [t["toolSpec"]["name"] for t in imitation.requests[0]["body"]["toolConfig"]["tools"]] == ["get_quote"]


def test_consecutive_user_messages_are_merged_so_roles_alternate(adapter, imitation):
    imitation.script([text_turn("ok")])

    run(adapter, messages=[Message(role="user", content="first"), Message(role="user", content="second")])

    assert imitation.requests[0]["body"]["messages"] == [
        {"role": "user", "content": [{"text": "first"}, {"text": "second"}]}
    ]


# --- models and clients ----------------------------------------------------------------------


def test_list_models_answers_the_foundation_models_sorted(adapter, imitation):
    assert adapter.list_models() == ["amazon.nova-lite-v1:0", "meta.llama3-8b-instruct-v1:0"]
    assert imitation.requests[0]["path"] == "/foundation-models"
    assert imitation.requests[0]["query"] == {"byOutputModality": "TEXT"}


def test_list_models_with_an_unknown_key_is_an_authentication_error(imitation):
    credentials = Credentials(aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key=SECRET)

    with pytest.raises(AuthenticationError):
        adapter_for(kind="bedrock", base_url=imitation.url, credentials=credentials).list_models()


def test_clients_are_reused_per_credentials_endpoint_and_timeout():
    credentials = Credentials(aws_access_key_id="AKIAIMITATION0000001", aws_secret_access_key=SECRET)
    other_secret = Credentials(aws_access_key_id="AKIAIMITATION0000001", aws_secret_access_key="other")
    url = "http://127.0.0.1:9"

    first = client_for("bedrock-runtime", credentials, url, 5.0)

    assert client_for("bedrock-runtime", credentials, url, 5.0) is first
    assert client_for("bedrock-runtime", credentials, url, 6.0) is not first
    assert client_for("bedrock-runtime", other_secret, url, 5.0) is not first
    assert first.meta.config.retries["total_max_attempts"] == 1


def test_a_history_bedrock_refuses_is_a_bad_request_with_its_message(adapter, imitation):
    unanswered = [
        Message(role="user", content="BTC?"),
        Message(role="assistant", tool_calls=(ToolCall(id="c1", name="get_quote", arguments={}),)),
        Message(role="user", content="Never mind."),
    ]

    _, error = run_until_error(adapter, messages=unanswered)

    assert isinstance(error, BadRequestError)
    assert error.message == "Expected toolResult blocks at messages.2.content for the following Ids: c1"


# --- the imitation, as the benchmark uses it ---------------------------------------------------


def test_default_turn_answers_every_request_once_the_script_is_spent(imitation, adapter):
    imitation.default_turn = text_turn("again")
    imitation.script([text_turn("first")])

    answers = [run(adapter)[0] for _ in range(3)]

    assert answers == [TextDelta("first"), TextDelta("again"), TextDelta("again")]


def test_concurrent_streams_each_get_their_whole_answer(imitation, adapter):
    chunks = tuple(f"token{i} " for i in range(200))
    imitation.default_turn = text_turn(*chunks)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: "".join(e.text for e in run(adapter) if isinstance(e, TextDelta)), range(32)))

    assert answers == ["".join(chunks)] * 32
    assert len(imitation.requests) == 32
