"""What the OpenAI-compatible adapter's tests share: the chat-completions imitation (one per module,
reset before each test), the key it expects and a stream run through the real `openai` SDK."""

from __future__ import annotations

import pytest

from providers.adapters import adapter_for
from providers.adapters.base import Credentials, Message, Options, ProviderError
from providers.tests.openai_imitation import OpenAIImitation, openai_imitation_running

KEY = "sk-test-4f9c1d2e8a7b6c5d"
HELLO = [Message(role="user", content="Hello")]
OPTIONS = Options(model="gpt-imitation-mini", max_tokens=300)


@pytest.fixture(scope="module")
def server():
    with openai_imitation_running() as imitation:
        yield imitation


@pytest.fixture
def imitation(server: OpenAIImitation) -> OpenAIImitation:
    server.reset(api_key=KEY)
    return server


def run(imitation: OpenAIImitation, kind="openai", messages=HELLO, tools=(), options=OPTIONS, key=KEY) -> list:
    adapter = adapter_for(kind=kind, base_url=imitation.url, credentials=Credentials(api_key=key))
    return list(adapter.stream(messages, tools, options))


def failure(imitation: OpenAIImitation, expected: type[ProviderError], **kwargs) -> ProviderError:
    """The error the stream raised, checked to be `expected` and free of the API key."""
    with pytest.raises(expected) as raised:
        run(imitation, **kwargs)
    assert KEY not in str(raised.value) and KEY not in raised.value.message
    return raised.value


def sent(imitation: OpenAIImitation) -> dict:
    return imitation.requests[-1]["body"]
