"""The Bedrock adapter's errors through boto3 against the local Bedrock imitation: HTTP and in-stream
exceptions typed, throttling, streams cut or stalled, credentials never repeated."""

from __future__ import annotations

import pytest

from providers.adapters import adapter_for
from providers.adapters.base import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    Credentials,
    NetworkError,
    Options,
    OverloadedError,
    ProviderTimeout,
    RateLimitedError,
    TextDelta,
)
from providers.tests import bedrock_fixtures
from providers.tests.bedrock_fixtures import SECRET, run_until_error
from providers.tests.imitation_script import ScriptedError, ScriptedToolCall, Turn, text_turn

# The fixtures, assigned rather than imported (ruff reads an imported fixture as unused).
imitation = bedrock_fixtures.imitation
adapter = bedrock_fixtures.adapter


# --- errors ----------------------------------------------------------------------------------


def test_unknown_access_key_is_an_authentication_error(imitation):
    credentials = Credentials(aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key=SECRET)
    stranger = adapter_for(kind="bedrock", base_url=imitation.url, credentials=credentials)

    _, error = run_until_error(stranger)

    assert isinstance(error, AuthenticationError)
    assert (error.status, error.message) == (403, "The security token included in the request is invalid.")


def test_missing_credentials_refuse_without_calling_bedrock(imitation):
    adapter = adapter_for(kind="bedrock", base_url=imitation.url, credentials=Credentials(aws_region="eu-west-1"))

    _, error = run_until_error(adapter)

    assert isinstance(error, AuthenticationError)
    assert imitation.requests == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ScriptedError(401, "The security token included in the request is invalid."), AuthenticationError),
        (ScriptedError(403, "You don't have access to the model with the specified model ID."), AuthenticationError),
        (ScriptedError(500, "The server encountered an internal error."), OverloadedError),
        (ScriptedError(503, "Bedrock is unable to process your request."), OverloadedError),
        (ScriptedError(429, "Model is loading.", {"x-amzn-ErrorType": "ModelNotReadyException"}), OverloadedError),
        (ScriptedError(408, "Model has timed out in processing the request."), ProviderTimeout),
        (ScriptedError(400, "Malformed input request, please reformat your input and try again."), BadRequestError),
        (ScriptedError(404, "The provided model identifier is invalid."), BadRequestError),
    ],
)
def test_http_errors_become_typed_errors_with_bedrocks_message(adapter, imitation, error, expected):
    imitation.script([Turn(error=error)])

    events, raised = run_until_error(adapter)

    assert type(raised) is expected
    assert (events, raised.message, raised.status) == ([], error.message, error.status)


def test_throttling_is_rate_limited_with_the_retry_after_seconds_when_sent(adapter, imitation):
    imitation.script([Turn(error=ScriptedError(429, "Too many requests, please wait.", {"Retry-After": "7"}))])

    _, error = run_until_error(adapter)

    assert isinstance(error, RateLimitedError)
    assert (error.retry_after, error.message, error.retryable) == (7.0, "Too many requests, please wait.", True)


def test_throttling_without_retry_after_leaves_it_unknown(adapter, imitation):
    imitation.script([Turn(error=ScriptedError(429, "Too many tokens per day."))])

    _, error = run_until_error(adapter)

    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None


@pytest.mark.parametrize("message", ["Input is too long for requested model.", "prompt has too many input tokens"])
def test_prompt_too_long_is_context_too_long(adapter, imitation, message):
    imitation.script([Turn(error=ScriptedError(400, message))])

    _, error = run_until_error(adapter)

    assert isinstance(error, ContextTooLongError)
    assert error.message == message


def test_a_stream_cut_halfway_is_a_network_error_after_the_text_before_the_cut(adapter, imitation):
    imitation.script([text_turn("one ", "two ", "three", cut_after=2)])

    events, error = run_until_error(adapter)

    assert events == [TextDelta("one "), TextDelta("two ")]
    assert isinstance(error, NetworkError)


def test_a_stream_cut_before_its_tool_calls_yields_no_partial_call(adapter, imitation):
    call = ScriptedToolCall(id="tooluse_1", name="get_quote", argument_fragments=('{"symbol": "BTC"}',))
    imitation.script([Turn(text=("Checking",), tool_calls=(call,), cut_after=1)])

    events, error = run_until_error(adapter)

    assert events == [TextDelta("Checking")]
    assert isinstance(error, NetworkError)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, RateLimitedError),
        (424, OverloadedError),
        (503, OverloadedError),
        (500, OverloadedError),
        (400, BadRequestError),
    ],
)
def test_an_exception_inside_the_stream_is_typed_after_the_text_before_it(adapter, imitation, status, expected):
    imitation.script([text_turn("Hal", "f", cut_after=1, error=ScriptedError(status, "The stream failed midway."))])

    events, error = run_until_error(adapter)

    assert events == [TextDelta("Hal")]
    assert type(error) is expected
    assert error.message == "The stream failed midway."


def test_no_answer_within_the_timeout_is_a_provider_timeout(adapter, imitation):
    imitation.script([text_turn("late", delay=1.0)])

    _, error = run_until_error(adapter, options=Options(model="m", timeout=0.2))

    assert isinstance(error, ProviderTimeout)
    assert error.retryable


def test_connection_refused_is_a_network_error():
    credentials = Credentials(aws_access_key_id="AKIAIMITATION0000001", aws_secret_access_key=SECRET)
    adapter = adapter_for(kind="bedrock", base_url="http://127.0.0.1:9", credentials=credentials)

    _, error = run_until_error(adapter, options=Options(model="m", timeout=2))

    assert isinstance(error, NetworkError)


@pytest.mark.parametrize(
    "turn",
    [
        Turn(error=ScriptedError(401, "bad key")),
        Turn(error=ScriptedError(429, "slow down", {"Retry-After": "3"})),
        Turn(error=ScriptedError(500, "oops")),
        Turn(error=ScriptedError(400, "Input is too long for requested model.")),
        text_turn("a", "b", cut_after=1),
        text_turn("a", cut_after=0, error=ScriptedError(503, "gone")),
        text_turn("late", delay=1.0),
    ],
)
def test_credentials_never_appear_in_a_raised_error(adapter, imitation, turn):
    imitation.script([turn])

    _, error = run_until_error(adapter, options=Options(model="m", timeout=0.3))

    for text in (str(error), repr(error), error.message):
        assert SECRET not in text
        assert imitation.access_key_id not in text
