"""The /ws ``chat`` channel: a question starts an answer whose events arrive in order; a socket that
reconnects mid-answer resumes after the last event it saw; Stop cancels; another user's answer is
"no such message" (never its events); bad frames are named and the socket stays open.

Most tests run the answer as a scripted run writing through the real relay (assistant/relay.py), so
that what is checked is the channel; the last ones run the real loop with the built-in assistant.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from assistant import relay, services
from assistant.loop import cancel_key
from assistant.models import Conversation, Message
from assistant.relay import RelayWriter
from assistant.tests.chat_helpers import claude, claude_for  # noqa: F401 (the fixture)
from providers.tests.imitation_script import Turn
from scalpaiboard.routing import application

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
HOST = (b"host", b"127.0.0.1:8000")
TOKENS = ["Alert ", "**made**", ": BTC ", "crossing up ", "100,000."]


class ScriptedRun:
    """Stands in for the chat run: writes an answer's events through the real relay, in a thread.
    ``hold``: stop after that many events until ``go`` is set; stops early (``done``) when cancelled,
    as the loop does."""

    def __init__(self, hold: int | None = None):
        self.hold = hold
        self.go = threading.Event()
        self.started = threading.Event()
        self.threads: list[threading.Thread] = []

    def __call__(self, *, message_id: int, provider_id, model) -> None:
        thread = threading.Thread(target=self.write, args=(message_id, provider_id, model), daemon=True)
        self.threads.append(thread)
        thread.start()

    def events(self, message_id: int, conversation_id: int):
        yield "conversation", {"id": conversation_id, "message_id": message_id}
        args = {"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100000}}
        yield "tool_call", {"id": "c1", "name": "create_alert", "arguments": args}
        result = {"id": "c1", "name": "create_alert", "ok": True, "result": {"id": 7},
                  "links": [{"label": "Alert #7", "url": "/alerts/7"}], "action": None}  # fmt: skip
        yield "tool_result", result
        for text in TOKENS:
            yield "token", {"text": text}
        usage = {"provider": "Built-in assistant", "model": "built-in", "input_tokens": 0,
                 "cached_input_tokens": 0, "output_tokens": 0, "cost_usd": "0"}  # fmt: skip
        yield "usage", usage

    def write(self, message_id: int, provider_id, model) -> None:
        conversation_id = Message.objects.get(pk=message_id).conversation_id
        writer = RelayWriter(message_id)
        self.started.set()
        for number, (event, data) in enumerate(self.events(message_id, conversation_id), start=1):
            if cache.get(cancel_key(message_id)):
                break
            writer.emit(event, data)
            if number == self.hold:
                self.go.wait(10)
        writer.emit("done", {"message_id": message_id, "latency_ms": 12, "cost_usd": "0"})


@pytest.fixture
def scripted(monkeypatch):
    run = ScriptedRun()
    monkeypatch.setattr(services, "chat_launch", run)
    yield run
    run.go.set()
    for thread in run.threads:
        thread.join(5)


async def user_make(username: str):
    from django.contrib.auth import get_user_model

    return await sync_to_async(get_user_model().objects.create_user)(
        username=username, email=f"{username}@example.com", password="pw-123456789"
    )


async def connect(user=None) -> WebsocketCommunicator:
    headers = [ORIGIN, HOST]
    if user is not None:
        client = Client()
        await sync_to_async(client.force_login)(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    communicator = WebsocketCommunicator(application, "/ws", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def frames_until_done(ws, timeout: float = 10) -> list[dict]:
    frames = []
    while True:
        frame = await ws.receive_json_from(timeout=timeout)
        frames.append(frame)
        if frame.get("type") == "chat" and frame["event"] in ("done", "error"):
            return frames


async def send(ws, **message) -> None:
    await ws.send_to(text_data=json.dumps(message))


# --- an answer, in order ------------------------------------------------------------------------


async def test_a_question_streams_its_answers_events_in_order(scripted):
    user = await user_make("trader")
    ws = await connect(user)
    await send(ws, action="chat", message="alert me when BTC crosses 100000")
    frames = await frames_until_done(ws)
    answer = await sync_to_async(Message.objects.get)(role="assistant")
    assert {f["type"] for f in frames} == {"chat"}
    assert {f["message_id"] for f in frames} == {answer.pk}
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    events = [f["event"] for f in frames]
    assert events == ["conversation", "tool_call", "tool_result", *["token"] * len(TOKENS), "usage", "done"]
    assert frames[0]["data"] == {"id": answer.conversation_id, "message_id": answer.pk}
    assert "".join(f["data"]["text"] for f in frames if f["event"] == "token") == "".join(TOKENS)
    assert frames[2]["data"]["links"] == [{"label": "Alert #7", "url": "/alerts/7"}]
    assert frames[-1]["data"] == {"message_id": answer.pk, "latency_ms": 12, "cost_usd": "0"}
    await ws.disconnect()


async def test_a_question_in_a_conversation_continues_it(scripted):
    user = await user_make("trader")
    conversation = await sync_to_async(Conversation.objects.create)(user=user, title="earlier")
    ws = await connect(user)
    await send(ws, action="chat", message="and ETH?", conversation_id=conversation.pk)
    frames = await frames_until_done(ws)
    assert frames[0]["data"]["id"] == conversation.pk
    assert await sync_to_async(Message.objects.filter(conversation=conversation).count)() == 2
    await ws.disconnect()


async def test_a_socket_that_reconnects_mid_answer_gets_the_rest_after_its_last_seq(scripted):
    scripted.hold = 3  # the run pauses after the tool's result, while the first socket goes away
    user = await user_make("trader")
    first = await connect(user)
    await send(first, action="chat", message="alert me when BTC crosses 100000")
    seen = [await first.receive_json_from(timeout=10) for _ in range(3)]
    assert [f["seq"] for f in seen] == [1, 2, 3]
    await first.disconnect()

    scripted.go.set()  # the answer goes on with no socket following it
    second = await connect(user)
    await send(second, action="subscribe", channel="chat", message_id=seen[0]["message_id"], after=3)
    rest = await frames_until_done(second)
    assert [f["seq"] for f in rest] == list(range(4, 4 + len(TOKENS) + 2))
    assert [f["event"] for f in rest] == [*["token"] * len(TOKENS), "usage", "done"]
    # From the start, without `after`: the whole answer again, in order.
    await send(second, action="subscribe", channel="chat", message_id=seen[0]["message_id"])
    again = await frames_until_done(second)
    assert [f["seq"] for f in again] == list(range(1, len(seen) + len(rest) + 1))
    await second.disconnect()


async def test_stop_cancels_the_answer_and_it_ends_with_what_was_streamed(scripted):
    scripted.hold = 4
    user = await user_make("trader")
    ws = await connect(user)
    await send(ws, action="chat", message="alert me when BTC crosses 100000")
    seen = [await ws.receive_json_from(timeout=10) for _ in range(4)]
    message_id = seen[0]["message_id"]
    await send(ws, action="cancel", channel="chat", message_id=message_id)
    assert await ws.receive_json_from(timeout=5) == {"type": "cancelled", "channel": "chat", "message_id": message_id}
    assert await sync_to_async(cache.get)(cancel_key(message_id)) is True
    scripted.go.set()
    rest = await frames_until_done(ws)
    assert [f["event"] for f in rest] == ["done"]  # the run stopped at its next event
    await ws.disconnect()


# --- only the signed-in user's own answers --------------------------------------------------------


async def test_another_users_answer_is_no_such_message_and_none_of_its_events(scripted):
    scripted.hold = 2
    owner, intruder = await user_make("trader"), await user_make("intruder")
    ws = await connect(owner)
    await send(ws, action="chat", message="how is my portfolio")
    first = await ws.receive_json_from(timeout=10)
    message_id = first["message_id"]

    theirs = await connect(intruder)
    for frame in (
        {"action": "subscribe", "channel": "chat", "message_id": message_id},
        {"action": "subscribe", "channel": "chat", "message_id": message_id, "after": 1},
        {"action": "cancel", "channel": "chat", "message_id": message_id},
    ):
        await send(theirs, **frame)
        assert await theirs.receive_json_from(timeout=5) == {"type": "error", "message": "no such message"}
    assert await theirs.receive_nothing(timeout=0.3)
    assert await sync_to_async(cache.get)(cancel_key(message_id)) is None  # not cancelled for its owner
    scripted.go.set()
    rest = await frames_until_done(ws)
    assert rest[-1]["event"] == "done" and len(rest) > 2  # the owner's answer ran on
    assert await theirs.receive_nothing(timeout=0.3)
    await ws.disconnect()
    await theirs.disconnect()


async def test_another_users_conversation_is_refused(scripted):
    owner, intruder = await user_make("trader"), await user_make("intruder")
    conversation = await sync_to_async(Conversation.objects.create)(user=owner, title="mine")
    ws = await connect(intruder)
    await send(ws, action="chat", message="hi", conversation_id=conversation.pk)
    assert await ws.receive_json_from(timeout=5) == {"type": "error", "message": "No such conversation."}
    assert await sync_to_async(Message.objects.count)() == 0
    await ws.disconnect()


async def test_a_signed_out_socket_cannot_chat(scripted):
    ws = await connect()
    await send(ws, action="chat", message="hi")
    error = await ws.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["message"].startswith("sign in to chat")
    await send(ws, action="subscribe", channel="chat", message_id=1)
    assert (await ws.receive_json_from(timeout=5))["message"].startswith("sign in to chat")
    assert await sync_to_async(Message.objects.count)() == 0
    await ws.disconnect()


# --- bad frames: named, and the socket stays open -------------------------------------------------

QUESTION = "'message' must be the question, a non-empty string"
ANSWER_ID = "'message_id' must be the answer's id, a positive integer"
MALFORMED = [
    ({"action": "chat"}, QUESTION),
    ({"action": "chat", "message": "   "}, QUESTION),
    ({"action": "chat", "message": ["hi"]}, QUESTION),
    ({"action": "chat", "message": "x" * 8001}, "message: Must be text of at most 8000 characters, without NUL."),
    ({"action": "chat", "message": "hi", "conversation_id": {"id": 1}}, "'conversation_id' must be an id"),
    (
        {"action": "chat", "message": "hi", "provider_id": True},
        "provider_id: Must be the id (a positive integer) of one of yours, or left out.",
    ),
    ({"action": "chat", "message": "hi", "model": 5}, "'model' must be a model name, a string"),
    ({"action": "subscribe", "channel": "chat"}, ANSWER_ID),
    ({"action": "subscribe", "channel": "chat", "message_id": "7"}, ANSWER_ID),
    (
        {"action": "subscribe", "channel": "chat", "message_id": 1, "after": -1},
        "'after' must be the last seq seen, an integer of 0 or more",
    ),
    ({"action": "cancel", "channel": "chat", "message_id": 0}, ANSWER_ID),
    (
        {"action": "unsubscribe", "channel": "chat"},
        "the chat channel has no 'unsubscribe': an answer's events end with it",
    ),
    ({"action": "subscribe", "channel": "chat", "message_id": 999999}, "no such message"),
]


@pytest.mark.parametrize(("frame", "error"), MALFORMED)
async def test_a_bad_chat_frame_is_named_and_the_socket_stays_open(scripted, frame, error):
    user = await user_make("trader")
    ws = await connect(user)
    await send(ws, **frame)
    assert await ws.receive_json_from(timeout=5) == {"type": "error", "message": error}
    await send(ws, action="chat", message="how is my portfolio")  # the same socket still chats
    frames = await frames_until_done(ws)
    assert frames[-1]["event"] == "done"
    await ws.disconnect()


async def test_a_user_message_id_is_not_an_answer(scripted):
    user = await user_make("trader")
    ws = await connect(user)
    await send(ws, action="chat", message="how is my portfolio")
    await frames_until_done(ws)
    question = await sync_to_async(Message.objects.get)(role="user")
    await send(ws, action="subscribe", channel="chat", message_id=question.pk)
    assert await ws.receive_json_from(timeout=5) == {"type": "error", "message": "no such message"}
    await ws.disconnect()


async def test_a_closed_socket_stops_following_but_the_answer_runs_on(scripted):
    scripted.hold = 1
    user = await user_make("trader")
    ws = await connect(user)
    await send(ws, action="chat", message="how is my portfolio")
    first = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    scripted.go.set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = await asyncio.to_thread(relay.relay_read, message_id=first["message_id"], after=0, timeout=1)
        if items and items[-1]["event"] == "done":
            break
        await asyncio.sleep(0.05)
    assert items[-1]["event"] == "done"


# --- the real loop: a provider's answer, and the built-in assistant's ------------------------------


async def test_a_providers_answer_streams_over_the_socket_and_is_stored(claude):  # noqa: F811
    user = await user_make("trader")
    await sync_to_async(claude_for)(user, claude)
    claude.script([Turn(text=("Bitcoin ", "is ", "**up**."), input_tokens=900, output_tokens=12)])
    ws = await connect(user)
    await send(ws, action="chat", message="How is bitcoin doing?")
    frames = await frames_until_done(ws)
    assert [f["event"] for f in frames] == ["conversation", "token", "token", "token", "usage", "done"]
    assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5, 6]
    assert frames[4]["data"]["cost_usd"] == "0.00288" and frames[-1]["data"]["cost_usd"] == "0.00288"
    answer = await sync_to_async(Message.objects.get)(pk=frames[-1]["message_id"])
    assert answer.content == "Bitcoin is **up**." and not answer.incomplete
    await ws.disconnect()


async def test_stop_over_the_socket_ends_a_providers_answer_keeping_what_came(claude):  # noqa: F811
    user = await user_make("trader")
    await sync_to_async(claude_for)(user, claude)
    claude.script([Turn(text=tuple(f"w{i} " for i in range(200)), delay=0.02)])
    ws = await connect(user)
    await send(ws, action="chat", message="long")
    first = await ws.receive_json_from(timeout=10)
    while (await ws.receive_json_from(timeout=10))["event"] != "token":
        pass
    await send(ws, action="cancel", channel="chat", message_id=first["message_id"])
    frames = await frames_until_done(ws)
    assert {"type": "cancelled", "channel": "chat", "message_id": first["message_id"]} in frames
    assert frames[-1]["event"] == "done"
    answer = await sync_to_async(Message.objects.get)(pk=first["message_id"])
    assert answer.incomplete and answer.error == "stopped by the user" and 0 < len(answer.content) < 600
    await ws.disconnect()


async def test_the_built_in_assistant_makes_an_alert_over_the_socket(coins):
    pytest.importorskip("assistant.builtin", reason="the built-in assistant (assistant/builtin) is not merged yet")
    from alerts.models import Alert

    user = await user_make("trader")
    ws = await connect(user)
    await send(ws, action="chat", message="alert me when BTC crosses 100000")
    frames = await frames_until_done(ws, timeout=20)
    events = [f["event"] for f in frames]
    assert events[0] == "conversation" and events[-1] == "done", events
    assert events.index("tool_call") < events.index("tool_result") < len(events) - 1 - events[::-1].index("token")
    call = next(f["data"] for f in frames if f["event"] == "tool_call")
    result = next(f["data"] for f in frames if f["event"] == "tool_result")
    assert call["name"] == "create_alert" and result["ok"] is True
    assert result["action"]["undo"] is True and result["action"]["state"] == "done"
    assert any(link["url"].startswith("/alerts/") for link in result["links"])
    assert frames[-1]["data"]["cost_usd"] == "0"
    alerts = await sync_to_async(list)(Alert.objects.filter(user=user).select_related("coin"))
    assert [a.coin.symbol for a in alerts] == ["BTC"]
    await ws.disconnect()
