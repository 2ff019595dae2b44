"""The Anthropic adapter through the real `anthropic` SDK against a local Messages API (SSE) imitation."""

from __future__ import annotations

import email.utils
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from providers.adapters import adapter_for
from providers.adapters.base import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    Credentials,
    Message,
    NetworkError,
    Options,
    OverloadedError,
    ProviderError,
    ProviderTimeout,
    RateLimitedError,
    Stop,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from providers.tests.anthropic_imitation import DEFAULT_KEY, anthropic_imitation_running
from providers.tests.imitation_script import ScriptedError, ScriptedToolCall, Turn, text_turn

OPTIONS = Options(model="claude-sonnet-4-5", max_tokens=256, timeout=5)
HELLO = [Message(role="user", content="Hello")]
QUOTE = ToolSpec(
    name="get_quote",
    description="The last price of a coin",
    parameters={"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]},
)


@pytest.fixture(scope="module")
def server():
    with anthropic_imitation_running() as imitation:
        yield imitation


@pytest.fixture
def imitation(server):
    server.script([])
    server.requests.clear()
    server.cache_creation_tokens, server.stop_reason, server.cut_cleanly = 0, None, False
    return server


def adapter(imitation, key: str = DEFAULT_KEY):
    return adapter_for(kind="anthropic", base_url=imitation.url, credentials=Credentials(api_key=key))


def run(imitation, messages=HELLO, tools=(), options=OPTIONS, key: str = DEFAULT_KEY) -> list:
    return list(adapter(imitation, key).stream(messages, tools, options))


def failure(imitation, turn: Turn, key: str = DEFAULT_KEY, options=OPTIONS) -> tuple[list, ProviderError]:
    """The events yielded before the request failed, and the error; checks the key is in neither."""
    imitation.script([turn])
    events = []
    with pytest.raises(ProviderError) as raised:
        for event in adapter(imitation, key).stream(HELLO, (), options):
            events.append(event)
    assert key not in str(raised.value) and key not in raised.value.message
    return events, raised.value


def sent(imitation) -> dict:
    return imitation.requests[-1]["body"]


# --- the answer ------------------------------------------------------------------------------


def test_text_streams_in_order_then_usage_and_end(imitation):
    imitation.script([text_turn("The price ", "of BTC ", "is up.", input_tokens=12, output_tokens=6)])

    events = run(imitation)

    assert events == [
        TextDelta("The price "),
        TextDelta("of BTC "),
        TextDelta("is up."),
        Usage(input_tokens=12, cached_input_tokens=0, output_tokens=6),
        Stop("end"),
    ]


def test_tool_call_arguments_joined_from_fragments(imitation):
    call = ScriptedToolCall("toolu_01A", "get_quote", ('{"sym', 'bol": "B', 'TC"}'))
    imitation.script([Turn(text=("Let me look.",), tool_calls=(call,))])

    events = run(imitation, tools=[QUOTE])

    assert events[:2] == [TextDelta("Let me look."), ToolCall("toolu_01A", "get_quote", {"symbol": "BTC"})]
    assert events[-1] == Stop("tool_calls")


def test_parallel_tool_calls_come_each_once_in_order(imitation):
    calls = (
        ScriptedToolCall("toolu_1", "get_quote", ('{"symbol":', ' "BTC"}')),
        ScriptedToolCall("toolu_2", "get_quote", ('{"symbol": "ETH"}',)),
        ScriptedToolCall("toolu_3", "list_alerts", ()),
    )
    imitation.script([Turn(tool_calls=calls)])

    events = run(imitation, tools=[QUOTE])

    assert [e for e in events if isinstance(e, ToolCall)] == [
        ToolCall("toolu_1", "get_quote", {"symbol": "BTC"}),
        ToolCall("toolu_2", "get_quote", {"symbol": "ETH"}),
        ToolCall("toolu_3", "list_alerts", {}),
    ]


@pytest.mark.parametrize("raw", ['{"symbol": "BT', "[1, 2]", '"BTC"'])
def test_tool_arguments_that_are_not_a_json_object_come_back_raw(imitation, raw):
    imitation.script([Turn(tool_calls=(ScriptedToolCall("toolu_9", "get_quote", (raw[:3], raw[3:])),))])

    call = next(e for e in run(imitation) if isinstance(e, ToolCall))

    assert call == ToolCall("toolu_9", "get_quote", {}, invalid_arguments=raw)


def test_usage_counts_cache_read_and_cache_written_tokens_as_input(imitation):
    imitation.cache_creation_tokens = 15  # the wire then says: 25 uncached + 15 written + 60 read
    imitation.script([text_turn("ok", input_tokens=100, cached_input_tokens=60, output_tokens=7)])

    usage = next(e for e in run(imitation) if isinstance(e, Usage))

    assert usage == Usage(input_tokens=100, cached_input_tokens=60, output_tokens=7)


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        ("end_turn", "end"),
        ("stop_sequence", "end"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "max_tokens"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
    ],
)
def test_stop_reasons_are_normalised(imitation, wire, reason):
    imitation.stop_reason = wire
    imitation.script([text_turn("x")])

    assert run(imitation)[-1] == Stop(reason)


def test_an_answer_longer_than_max_tokens_stops_for_max_tokens(imitation):
    imitation.script([text_turn("a long answer", output_tokens=500)])

    events = run(imitation, options=Options(model="claude-sonnet-4-5", max_tokens=64))

    assert events[-2:] == [Usage(input_tokens=10, output_tokens=64), Stop("max_tokens")]


def test_concurrent_streams_each_get_the_whole_answer(imitation):
    chunks = tuple(f"t{i} " for i in range(200))
    imitation.default_turn = Turn(text=chunks, output_tokens=200)
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(lambda _: run(imitation, options=Options(model="m", max_tokens=500)), range(16)))
    finally:
        imitation.default_turn = None

    texts = ["".join(e.text for e in events if isinstance(e, TextDelta)) for events in answers]
    assert texts == ["".join(chunks)] * 16
    assert len(imitation.requests) == 16


# --- the errors ------------------------------------------------------------------------------


def test_a_wrong_key_is_an_authentication_error_that_does_not_quote_it(imitation):
    _, error = failure(imitation, text_turn("never"), key="sk-ant-wrong-key-42")

    assert isinstance(error, AuthenticationError)
    assert (error.status, error.message) == (401, "invalid x-api-key")


def test_a_key_quoted_by_the_provider_is_cut_from_the_message(imitation):
    _, error = failure(imitation, Turn(error=ScriptedError(403, f"key {DEFAULT_KEY} may not use this model")))

    assert isinstance(error, AuthenticationError)
    assert error.message == "key [key] may not use this model"


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("2.5", 2.5)])
def test_429_is_rate_limited_with_the_retry_after_seconds(imitation, header, seconds):
    limited = ScriptedError(429, "Number of request tokens has exceeded your rate limit", {"retry-after": header})

    _, error = failure(imitation, Turn(error=limited))

    assert isinstance(error, RateLimitedError)
    assert (error.retry_after, error.message) == (seconds, "Number of request tokens has exceeded your rate limit")


def test_a_retry_after_given_as_a_date_is_turned_into_seconds(imitation):
    date = email.utils.formatdate(time.time() + 30, usegmt=True)

    _, error = failure(imitation, Turn(error=ScriptedError(429, "Rate limited", {"retry-after": date})))

    assert isinstance(error, RateLimitedError) and 28 <= error.retry_after <= 31


@pytest.mark.parametrize("status", [500, 529])
def test_500_and_529_are_overloaded_and_retryable(imitation, status):
    _, error = failure(imitation, Turn(error=ScriptedError(status, "Overloaded")))

    assert isinstance(error, OverloadedError) and error.retryable
    assert (error.status, error.message) == (status, "Overloaded")


def test_an_overload_midway_fails_after_the_text_already_streamed(imitation):
    events, error = failure(imitation, Turn(text=("Half ", "an answer"), error=ScriptedError(529, "Overloaded")))

    assert events == [TextDelta("Half "), TextDelta("an answer")]
    assert isinstance(error, OverloadedError) and error.message == "Overloaded"


def test_a_prompt_too_long_is_context_too_long(imitation):
    too_long = ScriptedError(400, "prompt is too long: 215000 tokens > 200000 maximum")

    _, error = failure(imitation, Turn(error=too_long))

    assert isinstance(error, ContextTooLongError)
    assert error.message == "prompt is too long: 215000 tokens > 200000 maximum"


def test_a_request_the_api_refuses_is_a_bad_request_in_its_words(imitation):
    bad_tool = ToolSpec(name="get quote!", description="", parameters={"type": "object"})
    imitation.script([text_turn("never")])

    with pytest.raises(BadRequestError) as raised:
        run(imitation, tools=[bad_tool])

    assert not isinstance(raised.value, ContextTooLongError)
    assert raised.value.message.startswith("tools.0.custom.name: String should match pattern")


@pytest.mark.parametrize("cleanly", [False, True])
def test_a_stream_cut_halfway_is_a_network_error_after_the_text_before_the_cut(imitation, cleanly):
    imitation.cut_cleanly = cleanly

    events, error = failure(imitation, text_turn("one ", "two ", "three", cut_after=2))

    assert events == [TextDelta("one "), TextDelta("two ")]
    assert isinstance(error, NetworkError) and error.retryable


def test_a_silent_provider_times_out_after_the_options_timeout(imitation):
    started = time.monotonic()

    _, error = failure(imitation, text_turn("late", delay=2.0), options=Options(model="m", timeout=0.3))

    assert isinstance(error, ProviderTimeout)
    assert time.monotonic() - started < 1.5


def test_an_unreachable_provider_is_a_network_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = adapter_for(kind="anthropic", base_url=f"http://127.0.0.1:{port}", credentials=Credentials("k"))

    with pytest.raises(NetworkError):
        list(unreachable.stream(HELLO, (), OPTIONS))


# --- the request -----------------------------------------------------------------------------


def test_the_request_carries_the_key_and_the_api_version(imitation):
    imitation.script([text_turn("ok")])

    run(imitation)

    request = imitation.requests[-1]
    assert request["path"] == "/v1/messages"
    assert request["headers"]["authorization"] == f"Bearer {DEFAULT_KEY}"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", request["headers"]["anthropic-version"])
    assert sent(imitation)["stream"] is True


def test_options_and_tools_are_sent_as_the_api_declares_them(imitation):
    imitation.script([text_turn("ok")])

    run(imitation, tools=[QUOTE], options=Options(model="claude-haiku-4-5", max_tokens=99, temperature=0.2))

    body = sent(imitation)
    # The API version the SDK speaks has no sampling parameters: a temperature would be refused.
    assert (body["model"], body["max_tokens"], "temperature" in body) == ("claude-haiku-4-5", 99, False)
    assert body["tools"] == [
        {"name": "get_quote", "description": "The last price of a coin", "input_schema": QUOTE.parameters}
    ]


def test_a_history_from_another_provider_becomes_system_tool_use_and_tool_result_blocks(imitation):
    foreign = "call:7f/OpenAI.1"  # characters Anthropic refuses in a tool_use id
    history = [
        Message(role="system", content="You are a trading assistant."),
        Message(role="user", content="BTC?"),
        Message(role="assistant", content="\n", tool_calls=(ToolCall(foreign, "get_quote", {"symbol": "BTC"}),)),
        Message(role="tool", tool_call_id=foreign, name="get_quote", content='{"price": 97000}'),
    ]
    imitation.script([text_turn("97k")])

    assert run(imitation, messages=history)[0] == TextDelta("97k")  # the imitation accepted the pairing

    body = sent(imitation)
    call_id = body["messages"][1]["content"][0]["id"]
    assert body["system"] == "You are a trading assistant."
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", call_id)
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "BTC?"}]},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": call_id, "name": "get_quote", "input": {"symbol": "BTC"}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call_id, "content": '{"price": 97000}', "is_error": False}
            ],
        },
    ]


def test_parallel_tool_results_go_back_in_one_user_message_matched_to_their_calls(imitation):
    history = [
        Message(role="user", content="BTC and ETH?"),
        Message(
            role="assistant",
            content="Looking.",
            # ids that differ only in characters Anthropic refuses: they must stay apart
            tool_calls=(ToolCall("a.1", "get_quote", {"symbol": "BTC"}), ToolCall("a:1", "get_quote", {})),
        ),
        Message(role="tool", tool_call_id="a:1", name="get_quote", content='{"error": "symbol"}', is_error=True),
        Message(role="tool", tool_call_id="a.1", name="get_quote", content='{"price": 97000}'),
        Message(role="user", content="And then?"),
    ]
    imitation.script([text_turn("ok")])

    run(imitation, messages=history)

    assistant, results = sent(imitation)["messages"][1:]
    calls = {block["input"].get("symbol"): block["id"] for block in assistant["content"][1:]}
    assert len(set(calls.values())) == 2
    assert [(b["type"], b.get("tool_use_id"), b.get("is_error")) for b in results["content"]] == [
        ("tool_result", calls[None], True),
        ("tool_result", calls["BTC"], False),
        ("text", None, None),
    ]


def test_tool_calls_without_ids_are_numbered_and_their_results_matched_by_name(imitation):
    history = [
        Message(role="user", content="Quote and alerts"),
        Message(role="assistant", tool_calls=(ToolCall("", "get_quote", {}), ToolCall("", "list_alerts", {}))),
        Message(role="tool", tool_call_id="", name="list_alerts", content="[]"),
        Message(role="tool", tool_call_id="", name="get_quote", content="{}"),
    ]
    imitation.script([text_turn("ok")])

    run(imitation, messages=history)

    assistant, results = sent(imitation)["messages"][1:]
    ids = {block["name"]: block["id"] for block in assistant["content"]}
    assert [block["tool_use_id"] for block in results["content"]] == [ids["list_alerts"], ids["get_quote"]]
    assert ids["list_alerts"] != ids["get_quote"]


# --- the model list --------------------------------------------------------------------------


def test_list_models_gives_the_providers_ids_sorted(imitation):
    imitation.models[:] = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"]

    assert adapter(imitation).list_models() == ["claude-haiku-4-5", "claude-opus-4-1", "claude-sonnet-4-5"]
    assert imitation.requests[-1]["path"] == "/v1/models"


def test_list_models_with_a_wrong_key_is_an_authentication_error(imitation):
    with pytest.raises(AuthenticationError) as raised:
        adapter(imitation, key="sk-ant-nope-1234").list_models()

    assert "sk-ant-nope-1234" not in str(raised.value)
