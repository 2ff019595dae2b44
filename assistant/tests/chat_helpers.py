"""What the chat tests share: users, providers pointed at a local Messages API imitation, and reading
the Server-Sent Events of an answer."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from providers.services import provider_create
from providers.tests.anthropic_imitation import anthropic_imitation_running
from providers.tests.anthropic_imitation.server import DEFAULT_KEY


def user_make(name: str):
    return get_user_model().objects.create_user(username=name, email=f"{name}@example.com", password="a-long-test-pw")


def claude_for(user, server, **fields):
    data = {"kind": "anthropic", "model": "claude-sonnet-4-5", "api_key": DEFAULT_KEY, "base_url": server.url, **fields}
    return provider_create(user=user, data=data)


def sse_events(response) -> list[tuple[str, dict]]:
    """(event, data) of each frame of a text/event-stream answer, in order."""
    assert response["Content-Type"].startswith("text/event-stream")
    body = b"".join(response.streaming_content).decode()
    events = []
    for frame in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def chat(client, body: dict):
    return client.post("/api/ai/chat", json.dumps(body), content_type="application/json")


@pytest.fixture
def trader(transactional_db):
    return user_make("trader")


@pytest.fixture
def intruder(transactional_db):
    return user_make("intruder")


@pytest.fixture
def signed_in(client, trader):
    client.force_login(trader)
    return client


@pytest.fixture
def claude():
    with anthropic_imitation_running() as server:
        yield server
