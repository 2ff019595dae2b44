"""The assistant on the full stack: daphne answers POST /api/ai/chat, a Celery worker on the queue ``ai``
writes the answer, and the events travel between the two processes through Redis (assistant/relay.py).
The provider is the local chat-completions imitation, served from a thread of this process: the worker
reaches it over HTTP with the real SDK. A client that drops mid-answer and comes back gets the rest."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import websockets
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from alerts.models import Alert
from assistant.models import Message
from assistant.relay import RelayWriter, relay_follow
from providers.services import provider_create
from providers.tests.imitation_script import Turn
from providers.tests.openai_imitation import openai_imitation_running
from tests.processes import BIN, Processes, wait_for

pytestmark = [
    pytest.mark.skipif(
        not settings.REDIS_URL or connection.vendor != "postgresql", reason="needs the full stack: PostgreSQL and Redis"
    ),
    # One test process at a time uses the broker's `ai` queue: another's worker would take its answers.
    pytest.mark.xdist_group("ai-queue"),
]
PASSWORD = "a-long-test-password"
API_KEY = "sk-full-stack-0123456789abcdef"
SLOW_TOKENS = 40
GAP = 0.05  # seconds between the provider's chunks: a slow answer, so that a client can leave mid-way


@dataclass
class Stack:
    base: str
    group: Processes


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Stack]:
    """daphne and one ``ai`` worker (threads pool) on the test database, for the module's tests."""
    env = {"FEED_EMBEDDED": "false", "CELERY_BROKER_URL": settings.REDIS_URL, "RATE_LIMIT_AI_CHAT_RPM": "0"}
    group = Processes(tmp_path_factory.mktemp("assistant-stack"))
    with django_db_blocker.unblock():
        try:
            argv = ["-A", "scalpaiboard", "worker", "-Q", "ai", "--pool", "threads", "--concurrency", "4"]
            group.start("ai", str(BIN / "celery"), *argv, "-n", "ai@%h", "--purge", "-l", "info", **env)
            base = group.daphne(**env)
            wait_for(lambda: "ready" in group.log("ai"), what="the ai worker", logs=group)
            yield Stack(base, group)
        finally:
            group.stop()


@pytest.fixture
def imitation():
    with openai_imitation_running(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def trader(seeded_market):
    return get_user_model().objects.create_user(username="trader", password=PASSWORD)


@pytest.fixture
def bearer(stack, trader) -> dict[str, str]:
    """The header of a JWT from POST /api/auth/token/, as an API client signs in."""
    answer = httpx.post(f"{stack.base}/api/auth/token/", json={"username": "trader", "password": PASSWORD}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access']}"}


def provider_for(user, server):
    data = {"kind": "openai", "model": "gpt-imitation", "api_key": API_KEY, "base_url": server.url}
    return provider_create(user=user, data=data)


def sse_frames(response: httpx.Response) -> Iterator[dict]:
    """Each event of a text/event-stream answer as it arrives: {"seq", "event", "data", "at"}."""
    frame: dict = {}
    for line in response.iter_lines():
        if not line:
            if frame:
                yield frame
            frame = {}
        elif ": " in line:
            name, value = line.split(": ", 1)
            if name == "id":
                frame["seq"] = int(value)
            elif name == "event":
                frame["event"] = value
            elif name == "data":
                frame["data"] = json.loads(value)
                frame["at"] = time.monotonic()


def chat(stack: Stack, headers: dict, message: str) -> list[dict]:
    with httpx.stream("POST", f"{stack.base}/api/ai/chat", json={"message": message}, headers=headers, timeout=30) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.read()
        return list(sse_frames(r))


def texts(frames: list[dict]) -> list[str]:
    return [f["data"]["text"] for f in frames if f["event"] == "token"]


def test_a_streamed_answer_is_written_by_the_ai_worker_and_arrives_in_order(stack, imitation, trader, bearer):
    config = provider_for(trader, imitation)
    chunks = [f"t{n} " for n in range(SLOW_TOKENS)]
    imitation.script([Turn(text=tuple(chunks), output_tokens=SLOW_TOKENS, delay=GAP)])
    frames = chat(stack, bearer, "Say forty words")

    names = [f["event"] for f in frames]
    assert names == ["conversation"] + ["token"] * SLOW_TOKENS + ["usage", "done"]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert texts(frames) == chunks

    answer = Message.objects.get(pk=frames[0]["data"]["message_id"])
    assert answer.content == "".join(chunks) and not answer.incomplete
    assert (answer.provider, answer.model, answer.output_tokens) == (config.name, "gpt-imitation", SLOW_TOKENS)
    wait_for(lambda: "chat_run_task" in stack.group.log("ai") and "succeeded" in stack.group.log("ai"), what="log")
    assert imitation.requests[0]["headers"]["Authorization"] == f"Bearer {API_KEY}"


def test_tokens_reach_the_client_as_the_provider_sends_them_not_at_the_end(stack, imitation, trader, bearer):
    provider_for(trader, imitation)
    imitation.script([Turn(text=tuple(f"t{n} " for n in range(SLOW_TOKENS)), output_tokens=SLOW_TOKENS, delay=GAP)])
    tokens = [f for f in chat(stack, bearer, "Say forty words") if f["event"] == "token"]
    # The provider spends (tokens - 1) gaps between the first and the last: so does the client.
    assert tokens[-1]["at"] - tokens[0]["at"] > (SLOW_TOKENS - 1) * GAP / 2


def test_the_built_in_assistant_creates_an_alert_through_the_worker(stack, trader, bearer):
    frames = chat(stack, bearer, "alert me when BTC crosses 100000")

    names = [f["event"] for f in frames]
    assert names[0] == "conversation" and names[-1] == "done", names
    call = next(f["data"] for f in frames if f["event"] == "tool_call")
    result = next(f["data"] for f in frames if f["event"] == "tool_result")
    assert call["name"] == "create_alert" and result["ok"] is True, result
    alert = Alert.objects.get(user=trader)
    assert alert.coin.symbol == "BTC"
    assert 100000 in [v for v in alert.condition.values() if isinstance(v, int | float)], alert.condition
    assert frames[-1]["data"]["cost_usd"] == "0"


def test_a_client_that_drops_mid_answer_gets_the_rest_after_reconnecting(stack, imitation, trader, bearer):
    provider_for(trader, imitation)
    chunks = [f"t{n} " for n in range(SLOW_TOKENS)]
    imitation.script([Turn(text=tuple(chunks), output_tokens=SLOW_TOKENS, delay=GAP)])
    first: list[dict] = []
    with httpx.stream("POST", f"{stack.base}/api/ai/chat", json={"message": "Go"}, headers=bearer, timeout=30) as r:
        for frame in sse_frames(r):
            first.append(frame)
            if len(texts(first)) == 5:
                break  # the connection is closed here, mid-answer
    message_id = first[0]["data"]["message_id"]
    assert Message.objects.get(pk=message_id).latency_ms is None  # the worker was still writing it

    url = f"{stack.base}/api/ai/chat/{message_id}/events?after={first[-1]['seq']}"
    with httpx.stream("GET", url, headers=bearer, timeout=30) as r:
        assert r.status_code == 200
        rest = list(sse_frames(r))

    assert [f["seq"] for f in first + rest] == list(range(1, len(first) + len(rest) + 1))
    assert texts(first) + texts(rest) == chunks  # none lost, none twice
    assert rest[-1]["event"] == "done"
    assert Message.objects.get(pk=message_id).content == "".join(chunks)


def test_an_event_source_client_asking_for_text_event_stream_gets_the_answer(stack, trader, bearer):
    frames = chat(stack, bearer, "how is my portfolio")
    headers = {**bearer, "Accept": "text/event-stream", "Last-Event-ID": "1"}
    url = f"{stack.base}/api/ai/chat/{frames[0]['data']['message_id']}/events"
    with httpx.stream("GET", url, headers=headers, timeout=30) as r:
        assert r.status_code == 200, r.read()
        again = list(sse_frames(r))
    assert [(f["seq"], f["event"]) for f in again] == [(f["seq"], f["event"]) for f in frames[1:]]


def test_a_reader_waiting_longer_than_five_seconds_for_the_next_event_still_gets_it():
    """As the /ws chat channel waits, in daphne, while a worker is busy or a tool takes a while."""
    writer = RelayWriter(secrets.randbelow(10**9) + 10**9)
    writer.emit("conversation", {"id": 1, "message_id": writer.message_id})

    def later() -> None:
        time.sleep(6)
        writer.emit("done", {"message_id": writer.message_id, "latency_ms": 6000, "cost_usd": "0"})

    async def follow() -> list[str]:
        return [item["event"] async for item in relay_follow(message_id=writer.message_id)]

    writing = threading.Thread(target=later, daemon=True)
    writing.start()
    try:
        assert asyncio.run(follow()) == ["conversation", "done"]
    finally:
        writing.join()  # its last event is written before the test's clean-up deletes the log


@pytest.mark.skipif(importlib.util.find_spec("assistant.consumers") is None, reason="no /ws chat channel yet")
def test_the_ws_chat_channel_relays_the_answer_the_worker_writes(stack, imitation, trader, bearer):
    provider_for(trader, imitation)
    chunks = [f"w{n} " for n in range(10)]
    imitation.script([Turn(text=tuple(chunks), output_tokens=10, delay=0.01)])
    token = bearer["Authorization"].removeprefix("Bearer ")

    async def converse() -> list[dict]:
        async with websockets.connect(stack.base.replace("http", "ws") + f"/ws?token={token}") as ws:
            await ws.send(json.dumps({"action": "chat", "message": "Say ten words"}))
            frames = []
            while not frames or frames[-1]["event"] not in ("done", "error"):
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message.get("type") == "chat":
                    frames.append(message)
            return frames

    frames = asyncio.run(converse())
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert [f["event"] for f in frames] == ["conversation"] + ["token"] * 10 + ["usage", "done"]
    assert [f["data"]["text"] for f in frames if f["event"] == "token"] == chunks
