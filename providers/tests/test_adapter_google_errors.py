"""The Google adapter's errors through the real google-genai SDK against the local Gemini / Vertex
imitation: HTTP errors typed, streams cut or stalled, credentials refused or missing."""

from __future__ import annotations

import json

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
from providers.tests import google_fixtures
from providers.tests.google_fixtures import HELLO, OPTIONS, raised
from providers.tests.imitation_script import ScriptedError, Turn, text_turn

# The fixtures, assigned rather than imported (ruff reads an imported fixture as unused).
server = google_fixtures.server
imitation = google_fixtures.imitation
adapter = google_fixtures.adapter
vertex = google_fixtures.vertex


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
    # A project no other test uses: adapters are built once per credentials (adapter_for) and read the
    # host's credentials when built, so the previous test's adapter would still hold its key file.
    credentials = Credentials(google_project="no-host-credentials", google_location="us-east5")
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=credentials)

    with pytest.raises(AuthenticationError):
        list(adapter.stream(HELLO, [], OPTIONS))


def test_no_api_key_and_no_service_account_is_an_authentication_error(imitation):
    adapter = adapter_for(kind="google", base_url=imitation.url, credentials=Credentials())

    with pytest.raises(AuthenticationError):
        list(adapter.stream(HELLO, [], OPTIONS))
    assert imitation.requests == []
