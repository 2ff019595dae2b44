"""POST /api/ai/chat end to end: the answer streamed as Server-Sent Events by a real run (a thread in
embedded mode) against a local provider, stored with its cost; stops, resumes, bad input, others' ids."""

from __future__ import annotations

import json
import threading

import pytest

from assistant.models import Conversation, Message
from assistant.tests.chat_helpers import chat, claude_for, sse_events
from providers.tests.imitation_script import ScriptedError, Turn

pytest_plugins = ["assistant.tests.chat_helpers"]


def names(events) -> list[str]:
    return [name for name, _ in events]


def test_an_answer_streams_its_events_in_order_and_is_stored(signed_in, trader, claude):
    claude_for(trader, claude)
    claude.script([Turn(text=("Bitcoin ", "is ", "up."), input_tokens=900, output_tokens=12)])
    events = sse_events(chat(signed_in, {"message": "How is bitcoin doing today, in one line?"}))
    assert names(events) == ["conversation", "token", "token", "token", "usage", "done"]
    assert "".join(d["text"] for n, d in events if n == "token") == "Bitcoin is up."
    usage = events[4][1]
    assert usage["provider"] == "Anthropic" and usage["model"] == "claude-sonnet-4-5"
    assert usage["cost_usd"] == "0.00288"  # 900 at $3 + 12 at $15 per million tokens
    done = events[-1][1]
    answer = Message.objects.get(pk=done["message_id"])
    assert (
        answer.content == "Bitcoin is up." and not answer.incomplete and str(answer.cost_usd.normalize()) == "0.00288"
    )
    assert done["cost_usd"] == "0.00288" and done["latency_ms"] >= 0
    conversation = Conversation.objects.get(pk=events[0][1]["id"])
    assert conversation.title == "How is bitcoin doing today, in one line?"
    sent = claude.requests[-1]["body"]
    assert "Scalpaiboard" in json.dumps(sent["system"]) and sent["messages"][-1]["content"][0]["text"].startswith("How")


def test_a_conversation_continues_with_its_history(signed_in, trader, claude):
    claude_for(trader, claude)
    claude.script([Turn(text=("first",)), Turn(text=("second",))])
    first = sse_events(chat(signed_in, {"message": "one"}))
    sse_events(chat(signed_in, {"message": "two", "conversation_id": first[0][1]["id"]}))
    texts = [m["content"][0]["text"] for m in claude.requests[-1]["body"]["messages"] if m["role"] == "user"]
    assert texts == ["one", "two"]
    assert Conversation.objects.count() == 1


def test_a_stream_cut_halfway_is_stored_incomplete_with_what_came(signed_in, trader, claude):
    claude_for(trader, claude)
    claude.script([Turn(text=("part ", "of ", "it"), cut_after=2)])
    events = sse_events(chat(signed_in, {"message": "hi"}))
    assert names(events)[-1] == "error"
    answer = Message.objects.get(role="assistant")
    assert answer.incomplete and answer.content == "part of " and answer.error


def test_fallback_before_the_first_token_says_which_provider_answered(signed_in, trader, claude):
    from providers.tests.anthropic_imitation import anthropic_imitation_running

    with anthropic_imitation_running() as second:
        claude_for(trader, claude, name="main", priority=0)
        claude_for(trader, second, name="backup", priority=1)
        claude.script([Turn(error=ScriptedError(529, "Overloaded"))])
        second.script([Turn(text=("ok",))])
        events = sse_events(chat(signed_in, {"message": "hi"}))
    assert [d["provider"] for n, d in events if n == "usage"] == ["backup"]
    assert Message.objects.get(role="assistant").provider == "backup"


def test_a_budget_block_is_an_error_event_and_no_request(signed_in, trader, claude):
    claude_for(trader, claude, monthly_budget_usd="0.00")
    events = sse_events(chat(signed_in, {"message": "hi"}))
    assert names(events) == ["conversation", "error"] and "budget" in events[-1][1]["message"]
    assert claude.requests == []


def test_stop_ends_the_answer_keeping_what_was_streamed(signed_in, trader, claude):
    claude_for(trader, claude)
    claude.script([Turn(text=tuple(f"w{i} " for i in range(200)), delay=0.02)])
    response = chat(signed_in, {"message": "long"})
    frames = iter(response.streaming_content)
    first = next(frames).decode()  # the conversation event
    message_id = json.loads(first.split("data: ", 1)[1])["message_id"]
    stop = threading.Timer(
        0.3, lambda: signed_in.post(f"/api/ai/chat/{message_id}/stop", content_type="application/json")
    )
    stop.start()
    rest = b"".join(frames).decode()
    stop.join()
    assert "event: done" in rest
    answer = Message.objects.get(pk=message_id)
    assert answer.incomplete and answer.error == "stopped by the user" and 0 < len(answer.content) < 600


def test_a_client_that_reconnects_gets_the_rest(signed_in, trader, claude):
    claude_for(trader, claude)
    claude.script([Turn(text=("a", "b", "c"))])
    events = sse_events(chat(signed_in, {"message": "hi"}))
    message_id = events[0][1]["message_id"]
    rest = sse_events(signed_in.get(f"/api/ai/chat/{message_id}/events", {"after": 2}))
    assert rest == events[2:]
    resumed = sse_events(signed_in.get(f"/api/ai/chat/{message_id}/events", HTTP_LAST_EVENT_ID="4"))
    assert resumed == events[4:]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "   "}, "message"),
        ({"message": 42}, "message"),
        ({"message": ["hi"]}, "message"),
        ({"message": "x" * 8001}, "message"),
        ({"message": "a\x00b"}, "message"),
        ({"message": "hi", "conversation_id": "1"}, "conversation_id"),
        ({"message": "hi", "conversation_id": -1}, "conversation_id"),
        ({"message": "hi", "conversation_id": 10**30}, "conversation_id"),
        ({"message": "hi", "provider_id": True}, "provider_id"),
        ({"message": "hi", "model": {"a": 1}}, "model"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(signed_in, body, field):
    answer = chat(signed_in, body)
    assert answer.status_code == 400 and field in answer.json()
    assert not Message.objects.exists()


def test_another_users_conversation_and_provider_are_404(signed_in, intruder, claude):
    theirs = Conversation.objects.create(user=intruder, title="secret plans")
    provider = claude_for(intruder, claude)
    assert chat(signed_in, {"message": "hi", "conversation_id": theirs.pk}).status_code == 404
    assert chat(signed_in, {"message": "hi", "provider_id": provider.pk}).status_code == 404
    assert not Message.objects.exists() and claude.requests == []
    answer = Message.objects.create(conversation=theirs, role="assistant", content="theirs")
    assert signed_in.get(f"/api/ai/chat/{answer.pk}/events").status_code == 404
    assert signed_in.post(f"/api/ai/chat/{answer.pk}/stop", content_type="application/json").status_code == 404
    path = f"/api/ai/conversations/{theirs.pk}"
    assert signed_in.get(path).status_code == 404
    for method in ("patch", "delete"):
        response = getattr(signed_in, method)(path, '{"title": "mine now"}', content_type="application/json")
        assert response.status_code == 404
    assert Conversation.objects.filter(pk=theirs.pk, title="secret plans").exists()


def test_conversations_are_listed_searched_renamed_and_deleted(signed_in, trader, intruder):
    mine = Conversation.objects.create(user=trader, title="BTC plan")
    Message.objects.create(conversation=mine, role="user", content="watch the double bottom on solana")
    other = Conversation.objects.create(user=trader, title="ETH")
    Conversation.objects.create(user=intruder, title="double bottom too")
    listed = signed_in.get("/api/ai/conversations").json()
    assert [c["title"] for c in listed["results"]] == ["ETH", "BTC plan"]
    found = signed_in.get("/api/ai/conversations", {"q": "bottom"}).json()
    assert [c["id"] for c in found["results"]] == [mine.pk]
    renamed = signed_in.patch(
        f"/api/ai/conversations/{other.pk}", '{"title": "Ether"}', content_type="application/json"
    )
    assert renamed.status_code == 200 and renamed.json()["title"] == "Ether"
    refused = signed_in.patch(f"/api/ai/conversations/{other.pk}", '{"title": ""}', content_type="application/json")
    assert refused.status_code == 400 and "title" in refused.json()
    detail = signed_in.get(f"/api/ai/conversations/{mine.pk}").json()
    assert detail["messages"][0]["content"].startswith("watch")
    assert signed_in.delete(f"/api/ai/conversations/{mine.pk}").status_code == 204
    assert not Conversation.objects.filter(pk=mine.pk).exists()
