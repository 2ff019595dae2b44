"""The OpenAI-compatible adapter's errors through the real `openai` SDK against the local
chat-completions imitation: HTTP errors typed, streams cut or stalled, a key never repeated."""

from __future__ import annotations

import socket

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
    ProviderTimeout,
    RateLimitedError,
    TextDelta,
)
from providers.tests import openai_fixtures
from providers.tests.imitation_script import ScriptedError, Turn, text_turn
from providers.tests.openai_fixtures import HELLO, KEY, OPTIONS, failure
from providers.tests.openai_imitation import OpenAITurn

# The fixtures, assigned rather than imported (ruff reads an imported fixture as unused).
server = openai_fixtures.server
imitation = openai_fixtures.imitation


# --- errors ----------------------------------------------------------------------------------


def test_a_wrong_key_is_an_authentication_error_that_does_not_repeat_the_key(imitation):
    imitation.reset(api_key="sk-the-right-one")  # the server's 401 message repeats the key it got

    error = failure(imitation, AuthenticationError)

    assert error.status == 401
    assert "Incorrect API key provided" in error.message


def test_403_is_an_authentication_error(imitation):
    imitation.script([Turn(error=ScriptedError(403, "Project does not have access to model"))])

    assert failure(imitation, AuthenticationError).message == "Project does not have access to model"


@pytest.mark.parametrize(
    ("headers", "message", "seconds"),
    [
        ({"retry-after": "7"}, "Rate limit reached for requests", 7.0),
        ({"retry-after-ms": "1500", "retry-after": "2"}, "Rate limit reached", 1.5),
        ({}, "Rate limit reached for tokens. Please try again in 2.5s.", 2.5),
        ({}, "Rate limit reached", None),
    ],
)
def test_429_is_rate_limited_with_the_seconds_to_wait(imitation, headers, message, seconds):
    imitation.script([Turn(error=ScriptedError(429, message, headers))])

    error = failure(imitation, RateLimitedError)

    assert (error.retry_after, error.message, error.retryable) == (seconds, message, True)


@pytest.mark.parametrize("status", [500, 502, 503, 529])
def test_server_errors_are_overloaded(imitation, status):
    imitation.script([Turn(error=ScriptedError(status, "The engine is currently overloaded"))])

    error = failure(imitation, OverloadedError)

    assert (error.status, error.message) == (status, "The engine is currently overloaded")


def test_an_empty_script_answers_500_overloaded(imitation):
    assert failure(imitation, OverloadedError).status == 500


def test_a_prompt_over_the_context_window_is_context_too_long(imitation):
    imitation.context_window = 10

    error = failure(imitation, ContextTooLongError, messages=[Message(role="user", content="word " * 100)])

    assert "maximum context length is 10 tokens" in error.message


def test_another_400_is_a_bad_request_with_the_providers_words(imitation):
    imitation.script([Turn(error=ScriptedError(400, "Invalid value for 'temperature'"))])

    error = failure(imitation, BadRequestError)

    assert type(error) is BadRequestError and error.message == "Invalid value for 'temperature'"


def test_mistral_422_names_the_refused_field(imitation):
    imitation.reset(flavor="mistral", api_key=KEY)

    error = failure(imitation, BadRequestError, kind="openai")  # kind openai sends stream_options

    assert error.status == 422
    assert error.message == "body.stream_options: Extra inputs are not permitted"


def test_a_stream_cut_halfway_is_a_network_error_after_the_text_before_the_cut(imitation):
    imitation.script([text_turn("one ", "two ", "three", cut_after=2)])
    adapter = adapter_for(kind="openai", base_url=imitation.url, credentials=Credentials(api_key=KEY))
    received = []

    with pytest.raises(NetworkError):
        for event in adapter.stream(HELLO, (), OPTIONS):
            received.append(event)

    assert received == [TextDelta("one "), TextDelta("two ")]


def test_a_stream_that_ends_before_its_finish_reason_is_a_network_error(imitation):
    imitation.script([OpenAITurn(text=("one ", "two"), cut_after=1, clean_cut=True)])

    failure(imitation, NetworkError)


def test_an_error_event_midway_is_overloaded_with_the_providers_words(imitation):
    imitation.reset(flavor="openrouter", api_key=KEY)
    imitation.script([OpenAITurn(text=("one ",), stream_error=ScriptedError(502, "Provider disconnected"))])

    assert failure(imitation, OverloadedError).message == "Provider disconnected"


def test_a_slow_stream_is_a_provider_timeout(imitation):
    imitation.script([text_turn("late", delay=0.5)])

    failure(imitation, ProviderTimeout, options=Options(model="m", timeout=0.1))


def test_an_unreachable_server_is_a_network_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    adapter = adapter_for(kind="openai", base_url=f"http://127.0.0.1:{port}/v1", credentials=Credentials(api_key=KEY))

    with pytest.raises(NetworkError) as raised:
        list(adapter.stream(HELLO, (), OPTIONS))

    assert KEY not in str(raised.value)
