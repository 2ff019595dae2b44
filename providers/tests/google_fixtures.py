"""What the Google adapter's tests share: the Gemini / Vertex imitation (one per module, checked
that no scripted turn is left), Gemini and Vertex adapters for it and the error a scripted turn raises."""

from __future__ import annotations

import pytest

from providers.adapters import adapter_for
from providers.adapters.base import Credentials, Message, Options, ProviderError, ToolSpec
from providers.tests.google_imitation import google_imitation_running
from providers.tests.imitation_script import Turn

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
