"""The Google adapter through the real google-genai SDK against the local Gemini / Vertex imitation."""

from __future__ import annotations

import json
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
from providers.tests.google_imitation import google_imitation_running
from providers.tests.imitation_script import ScriptedError, ScriptedToolCall, Turn, text_turn

API_KEY = "AIza-secret-test-key-1234567890"
OPTIONS = Options(model="gemini-2.5-flash", max_tokens=256, timeout=5.0)
HELLO = [Message(role="user", content="hello")]
PRICE_TOOL = ToolSpec(
    name="get_price",
    description="The last price of a symbol.",
    parameters={"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]},
)
ALERT_TOOL = ToolSpec(name="create_alert", description="Create a price alert.", parameters={"type": "object"})


@pytest.fixture(scope="module")
def server():
    with google_imitation_running(api_key=API_KEY) as imitation:
        yield imitation


@pytest.fixture
def imitation(server):
    server.requests.clear()
    server.finish_reason = None
    yield server
    assert server._next_turn() is None, "a scripted turn was left unanswered"


@pytest.fixture
def adapter(imitation):
    return adapter_for(kind="google", base_url=imitation.url, credentials=Credentials(api_key=API_KEY))


@pytest.fixture
def vertex(imitation):
    credentials = Credentials(
        google_project="scalp-project",
        google_location="europe-west4",
        google_credentials_json=imitation.service_account_json("scalp-project"),
    )
    return adapter_for(kind="google", base_url=imitation.url, credentials=credentials)


def raised(adapter, imitation, turn: Turn, options=OPTIONS) -> tuple[ProviderError, list]:
    """The error a scripted turn raises, and the events yielded before it."""
    imitation.script([turn])
    received = []
    with pytest.raises(ProviderError) as caught:
        for event in adapter.stream(HELLO, [], options):
            received.append(event)
    assert API_KEY not in str(caught.value) and API_KEY not in caught.value.message
    return caught.value, received


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


@pytest.mark.parametrize("status", [401, 403])
def test_unauthenticated_and_permission_denied_are_authentication_errors(adapter, imitation, status):
    error, _ = raised(adapter, imitation, Turn(error=ScriptedError(status, "The caller does not have permission.")))

    assert isinstance(error, AuthenticationError) and error.status == status and not error.retryable
    assert error.message == "The caller does not have permission."


def test_a_wrong_api_key_is_an_authentication_error_without_the_key(imitation):
    wrong_key = "AIza-wrong-key-0987654321"
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=Credentials(api_key=wrong_key))

    with pytest.raises(AuthenticationError) as caught:
        list(adapter.stream(HELLO, [], OPTIONS))

    assert "API key not valid" in caught.value.message
    assert wrong_key not in str(caught.value) and wrong_key not in caught.value.message


def test_resource_exhausted_is_rate_limited_with_the_retry_delay(adapter, imitation):
    turn = Turn(error=ScriptedError(429, "Quota exceeded for metric generate_content.", headers={"retry-after": "7"}))

    error, _ = raised(adapter, imitation, turn)

    assert isinstance(error, RateLimitedError) and error.retry_after == 7.0
    assert error.message == "Quota exceeded for metric generate_content."
    assert len(imitation.requests) == 1  # the SDK's own retries are off


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_overloaded_and_not_retried_by_the_sdk(adapter, imitation, status):
    error, _ = raised(adapter, imitation, Turn(error=ScriptedError(status, "The model is overloaded.")))

    assert isinstance(error, OverloadedError) and error.retryable and error.status == status
    assert len(imitation.requests) == 1


def test_an_empty_script_without_default_turn_is_a_500(adapter, imitation):
    with pytest.raises(OverloadedError):
        list(adapter.stream(HELLO, [], OPTIONS))


def test_a_prompt_over_the_limit_is_context_too_long(adapter, imitation):
    message = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."

    error, _ = raised(adapter, imitation, Turn(error=ScriptedError(400, message)))

    assert isinstance(error, ContextTooLongError) and error.message == message


def test_another_invalid_argument_is_a_bad_request(adapter, imitation):
    error, _ = raised(adapter, imitation, Turn(error=ScriptedError(400, "Invalid value at 'tools[0]'.")))

    assert type(error) is BadRequestError and not error.retryable


def test_a_stream_cut_halfway_is_a_network_error_after_the_text_before_the_cut(adapter, imitation):
    error, received = raised(adapter, imitation, text_turn("one ", "two ", "three ", "four", cut_after=2))

    assert isinstance(error, NetworkError)
    assert received == [TextDelta("one "), TextDelta("two ")]


def test_a_silent_provider_is_a_timeout(adapter, imitation):
    options = Options(model="gemini-2.5-flash", timeout=0.3)

    error, received = raised(adapter, imitation, text_turn("late", delay=1.5), options=options)

    assert isinstance(error, ProviderTimeout) and received == []


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


def test_a_service_account_key_the_token_endpoint_refuses_is_an_authentication_error(imitation):
    info = json.loads(imitation.service_account_json())
    other = json.loads(imitation.service_account_json())
    info["private_key"] = other["private_key"]  # signed by a key the endpoint does not know for this kid
    forged = json.dumps({**info, "private_key_id": "unknown-kid"})
    credentials = Credentials(google_project="p", google_location="us-central1", google_credentials_json=forged)
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=credentials)

    with pytest.raises(AuthenticationError) as caught:
        list(adapter.stream(HELLO, [], OPTIONS))

    assert info["private_key"] not in str(caught.value) and "PRIVATE KEY" not in caught.value.message


def test_a_service_account_json_that_is_not_a_key_file_is_an_authentication_error(imitation):
    credentials = Credentials(google_project="p", google_location="l", google_credentials_json='{"type": "nope"}')
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=credentials)

    with pytest.raises(AuthenticationError):
        list(adapter.stream(HELLO, [], OPTIONS))


def test_vertex_without_a_key_file_uses_the_hosts_google_credentials(imitation, tmp_path, monkeypatch):
    key_file = tmp_path / "host-service-account.json"
    key_file.write_text(imitation.service_account_json("host-project"))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    credentials = Credentials(google_project="host-project", google_location="us-east5")
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=credentials)
    imitation.script([text_turn("from the host")])

    received = list(adapter.stream(HELLO, [], OPTIONS))

    assert received[0] == TextDelta("from the host")
    assert imitation.requests[-1]["path"].startswith("/v1beta1/projects/host-project/locations/us-east5/")


def test_vertex_without_any_google_credentials_is_an_authentication_error(imitation, tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    credentials = Credentials(google_project="host-project", google_location="us-east5")
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=credentials)

    with pytest.raises(AuthenticationError):
        list(adapter.stream(HELLO, [], OPTIONS))


def test_no_api_key_and_no_service_account_is_an_authentication_error(imitation):
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=Credentials())

    with pytest.raises(AuthenticationError):
        list(adapter.stream(HELLO, [], OPTIONS))
    assert imitation.requests == []
