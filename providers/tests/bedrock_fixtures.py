"""What the Bedrock adapter's tests share: the Bedrock imitation (AWS event-stream framing, SigV4
checked), an adapter signed for it and streams run through boto3's real `converse_stream`."""

from __future__ import annotations

import pytest

from providers.adapters import adapter_for
from providers.adapters.base import Credentials, Message, Options, ProviderError, ToolSpec
from providers.tests.bedrock_imitation import bedrock_imitation_running

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HELLO = [Message(role="user", content="Hello")]
OPTIONS = Options(model="anthropic.claude-3-5-haiku-20241022-v1:0", max_tokens=256)
QUOTE = ToolSpec(
    name="get_quote",
    description="Latest price of a coin",
    parameters={"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]},
)


@pytest.fixture
def imitation():
    with bedrock_imitation_running(models=["meta.llama3-8b-instruct-v1:0", "amazon.nova-lite-v1:0"]) as server:
        yield server


@pytest.fixture
def adapter(imitation):
    credentials = Credentials(
        aws_access_key_id=imitation.access_key_id, aws_secret_access_key=SECRET, aws_region="eu-west-1"
    )
    return adapter_for(kind="bedrock", base_url=imitation.url, credentials=credentials)


def run(adapter, messages=HELLO, tools=(), options=OPTIONS) -> list:
    return list(adapter.stream(messages, tools, options))


def run_until_error(adapter, messages=HELLO, options=OPTIONS) -> tuple[list, ProviderError]:
    events = []
    with pytest.raises(ProviderError) as raised:
        for event in adapter.stream(messages, (), options):
            events.append(event)
    return events, raised.value
