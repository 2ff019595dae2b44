"""The chat page at /assistant: the empty state and a conversation with its tool cards, the sidebar's
search, rename and delete, the cards' undo / confirm / decline, the "ask before acting" switch, and
what must hold for every user: another user's conversation or action is a 404, and nothing a model,
a tool or a title wrote reaches the page as markup."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from assistant.models import AssistantSettings, Conversation, Message, ToolAction
from providers.services import provider_create

HTMX = {"HTTP_HX_REQUEST": "true"}
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("trader", "t@example.com", "a-long-test-password")


@pytest.fixture
def other(db):
    return get_user_model().objects.create_user("other", "o@example.com", "a-long-test-password")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def conversation_make(user, title="BTC alert", *, answer="Done: **alert** made.", calls=(), **fields):
    conversation = Conversation.objects.create(user=user, title=title)
    Message.objects.create(conversation=conversation, role="user", content="alert me when BTC crosses 100000")
    shown = {"provider": "Built-in assistant", "model": "built-in", "cost_usd": Decimal(0), "latency_ms": 1234}
    answer = Message.objects.create(
        conversation=conversation, role="assistant", content=answer, tool_calls=list(calls), **(shown | fields)
    )
    return conversation, answer


def action_make(user, answer, state="done", undo=None):
    return ToolAction.objects.create(
        user=user, message=answer, tool="create_alert", call_id="c1", arguments={"symbol": "BTC"},
        undo=undo if undo is not None else {"alert_id": 999999}, state=state,
    )  # fmt: skip


def alert_call(action=None, **fields):
    call = {
        "id": "c1", "name": "create_alert", "ok": True,
        "arguments": {"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100000}},
        "result": {"id": 7, "symbol": "BTC", "condition": "crossing up 100,000"},
        "links": [{"label": "Alert #7", "url": "/alerts/7"}, {"label": "bad", "url": "javascript:alert(1)"}],
        "action": action,
    }  # fmt: skip
    return call | fields


# --- the page ---------------------------------------------------------------------------------


def test_the_page_asks_for_a_sign_in(client, db):
    response = client.get("/assistant")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_without_conversations_the_page_shows_the_examples_and_the_built_in_assistant(signed_in):
    response = signed_in.get("/assistant")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-prompt="alert me when BTC crosses 100000"' in html
    assert 'data-prompt="show coins with RSI below 30 on 1h"' in html
    assert "No conversations yet." in html
    assert '<option value="" data-model="">Built-in assistant (free)</option>' in html
    assert 'id="chat-empty"' in html and 'id="chat-empty" hidden' not in html
    assert all(f"js/assistant{name}.js" in html for name in ("", "_markdown", "_cards"))
    assert '<a class="nav-item active" href="/assistant">Assistant</a>' in html  # no "soon" badge


def test_the_provider_choice_lists_the_users_enabled_providers_only(signed_in, user, other):
    mine = provider_create(user=user, data={"kind": "openai", "name": "My GPT", "model": "gpt-4o-mini", "api_key": "k"})
    provider_create(user=user, data={"kind": "groq", "name": "Off", "model": "llama", "api_key": "k", "enabled": False})
    provider_create(user=other, data={"kind": "openai", "name": "Theirs", "model": "gpt-4o", "api_key": "k"})
    html = signed_in.get("/assistant").content.decode()
    assert f'<option value="{mine.pk}" data-model="gpt-4o-mini">My GPT</option>' in html
    assert "Off" not in html and "Theirs" not in html
    assert "Built-in assistant (free)" not in html  # with a provider, the built-in is not the choice


def test_a_conversation_shows_its_messages_tool_cards_cost_and_time(signed_in, user):
    conversation, answer = conversation_make(user)
    action = action_make(user, answer)
    Message.objects.filter(pk=answer.pk).update(
        tool_calls=[alert_call({"id": action.pk, "state": "done", "undo": True})]
    )
    response = signed_in.get(f"/assistant/{conversation.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "alert me when BTC crosses 100000" in html
    assert '<div class="md" data-markdown>Done: **alert** made.</div>' in html  # drawn by the script
    assert '<span class="tool-name">create_alert</span>' in html
    assert "symbol=BTC, condition={&quot;kind&quot;: &quot;crossing_up&quot;, &quot;level&quot;: 100000}" in html
    assert '<a href="/alerts/7">Alert #7</a>' in html
    assert "javascript:" not in html  # an unsafe link is left off the card
    assert f'hx-post="/assistant/actions/{action.pk}/undo"' in html
    assert '<span class="badge cost" title="Cost of this answer">$0.00</span>' in html
    assert '<span class="latency" title="Response time">1.2 s</span>' in html
    assert 'id="chat-empty" hidden' in html
    assert "&lt;Message" not in html and 'class="messages"' not in html  # not the flash messages' list
    assert f'id="conversation-{conversation.pk}" data-conversation' in html and 'aria-current="page"' in html


def test_a_card_shows_the_actions_current_state_not_the_one_streamed(signed_in, user):
    conversation, answer = conversation_make(user)
    undone = action_make(user, answer, state="undone")
    proposed = action_make(user, answer, state="proposed")
    calls = [alert_call({"id": undone.pk, "state": "done", "undo": True}),
             alert_call({"id": proposed.pk, "state": "proposed", "undo": False}, id="c2")]  # fmt: skip
    Message.objects.filter(pk=answer.pk).update(tool_calls=calls)
    html = signed_in.get(f"/assistant/{conversation.pk}").content.decode()
    assert f'hx-post="/assistant/actions/{undone.pk}/undo"' not in html
    assert "Undone." in html
    assert f'hx-post="/assistant/actions/{proposed.pk}/confirm"' in html
    assert f'hx-post="/assistant/actions/{proposed.pk}/decline"' in html


def test_an_answer_still_being_written_is_marked_for_the_page_to_follow(signed_in, user):
    conversation, answer = conversation_make(user, latency_ms=None)
    html = signed_in.get(f"/assistant/{conversation.pk}").content.decode()
    assert f'data-message="{answer.pk}" data-running' in html


def test_a_stopped_answer_says_so_without_an_error_line(signed_in, user):
    conversation, _ = conversation_make(user, incomplete=True, error="stopped by the user")
    html = signed_in.get(f"/assistant/{conversation.pk}").content.decode()
    assert '<span class="badge warn">stopped</span>' in html
    assert "chat-msg-error" not in html


def test_another_users_conversation_is_not_found(signed_in, other):
    conversation, _ = conversation_make(other, title="their secret plan")
    response = signed_in.get(f"/assistant/{conversation.pk}")
    assert response.status_code == 404
    assert "their secret plan" not in signed_in.get("/assistant").content.decode()


# --- nothing written by a model, a tool or a title is markup ------------------------------------


def test_titles_messages_and_tool_results_with_markup_are_escaped(signed_in, user):
    conversation, answer = conversation_make(user, title=f"hi {SCRIPT}", answer=f"see {IMG} and {SCRIPT}")
    Message.objects.create(conversation=conversation, role="user", content=SCRIPT)
    Message.objects.filter(pk=answer.pk).update(
        error=IMG,
        tool_calls=[alert_call(None, name=SCRIPT, result={"note": IMG}, links=[{"label": SCRIPT, "url": "/alerts/1"}])],
    )
    for url in (f"/assistant/{conversation.pk}", "/assistant/conversations", "/assistant?q=hi"):
        html = signed_in.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html, url
    html = signed_in.get(f"/assistant/{conversation.pk}").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


# --- the sidebar --------------------------------------------------------------------------------


def test_the_sidebar_search_finds_titles_and_messages(signed_in, user):
    conversation_make(user, title="BTC breakout", answer="nothing")
    conversation_make(user, title="Portfolio", answer="Your SOL position is up")
    html = signed_in.get("/assistant/conversations?q=breakout", **HTMX).content.decode()
    assert "BTC breakout" in html and "Portfolio" not in html
    html = signed_in.get("/assistant/conversations?q=SOL", **HTMX).content.decode()
    assert "Portfolio" in html and "BTC breakout" not in html
    html = signed_in.get("/assistant/conversations?q=nomatch", **HTMX).content.decode()
    assert "No conversation matches “nomatch”." in html


def test_rename_answers_the_renamed_item_and_refuses_an_empty_title(signed_in, user):
    conversation, _ = conversation_make(user)
    response = signed_in.post(f"/assistant/{conversation.pk}/rename", {"title": "  BTC at 100k  "}, **HTMX)
    assert response.status_code == 200
    assert '<span class="conversation-title">BTC at 100k</span>' in response.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).title == "BTC at 100k"
    response = signed_in.post(f"/assistant/{conversation.pk}/rename", {"title": " "}, **HTMX)
    assert response.status_code == 400
    assert "Invalid chat request" in response.content.decode() or "1 to 200" in response.content.decode()
    assert Conversation.objects.get(pk=conversation.pk).title == "BTC at 100k"


def test_delete_removes_the_conversation_and_sends_its_page_back_to_a_new_chat(signed_in, user):
    shown, _ = conversation_make(user)
    kept, _ = conversation_make(user, title="kept")
    response = signed_in.post(f"/assistant/{shown.pk}/delete", {"current": str(shown.pk)}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/assistant"
    assert not Conversation.objects.filter(pk=shown.pk).exists()
    response = signed_in.post(f"/assistant/{kept.pk}/delete", {"current": "12345"}, **HTMX)
    assert response.status_code == 200 and "HX-Redirect" not in response
    assert not Conversation.objects.filter(user=user).exists()


def test_another_users_conversation_cannot_be_renamed_or_deleted(signed_in, other):
    conversation, _ = conversation_make(other, title="theirs")
    assert signed_in.post(f"/assistant/{conversation.pk}/rename", {"title": "mine now"}, **HTMX).status_code == 404
    assert signed_in.post(f"/assistant/{conversation.pk}/delete", **HTMX).status_code == 404
    assert Conversation.objects.get(pk=conversation.pk).title == "theirs"


# --- the tool cards' buttons and the setting -------------------------------------------------------


def test_decline_answers_the_cards_new_action_part(signed_in, user):
    _, answer = conversation_make(user)
    action = action_make(user, answer, state="proposed")
    response = signed_in.post(f"/assistant/actions/{action.pk}/decline", **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="action-{action.pk}" data-state="declined"' in html and "Declined: nothing changed." in html
    assert ToolAction.objects.get(pk=action.pk).state == "declined"


def test_a_second_decline_says_why_not_and_keeps_the_card(signed_in, user):
    _, answer = conversation_make(user)
    action = action_make(user, answer, state="declined")
    response = signed_in.post(f"/assistant/actions/{action.pk}/decline", **HTMX)
    assert response.status_code == 200
    assert "This action is declined, not waiting for confirmation." in response.content.decode()


def test_another_users_action_cannot_be_undone_confirmed_or_declined(signed_in, other):
    _, answer = conversation_make(other)
    done = action_make(other, answer)
    proposed = action_make(other, answer, state="proposed")
    for action, change in ((done, "undo"), (proposed, "confirm"), (proposed, "decline")):
        response = signed_in.post(f"/assistant/actions/{action.pk}/{change}", **HTMX)
        assert response.status_code == 404, change
    assert ToolAction.objects.get(pk=done.pk).state == "done"
    assert ToolAction.objects.get(pk=proposed.pk).state == "proposed"


def test_an_unknown_change_is_not_found(signed_in, user):
    _, answer = conversation_make(user)
    action = action_make(user, answer)
    assert signed_in.post(f"/assistant/actions/{action.pk}/explode", **HTMX).status_code == 404


def test_ask_before_acting_switches_on_and_off(signed_in, user):
    response = signed_in.post("/assistant/settings", {"ask_before_acting": "on"}, **HTMX)
    assert response.status_code == 200
    assert 'id="ask-before-acting" checked' in response.content.decode()
    assert AssistantSettings.objects.get(user=user).ask_before_acting is True
    assert 'id="ask-before-acting" checked' in signed_in.get("/assistant").content.decode()
    response = signed_in.post("/assistant/settings", {}, **HTMX)
    assert 'id="ask-before-acting" checked' not in response.content.decode()
    assert AssistantSettings.objects.get(user=user).ask_before_acting is False


def test_an_answer_left_unfinished_long_ago_is_not_followed(signed_in, user):
    conversation, answer = conversation_make(user, latency_ms=None)
    Message.objects.filter(pk=answer.pk).update(created_at=timezone.now() - timedelta(hours=1))
    html = signed_in.get(f"/assistant/{conversation.pk}").content.decode()
    assert f'data-message="{answer.pk}"' in html and "data-running" not in html


def test_a_fast_answer_shows_milliseconds(signed_in, user):
    conversation, _ = conversation_make(user, latency_ms=37)
    html = signed_in.get(f"/assistant/{conversation.pk}").content.decode()
    assert '<span class="latency" title="Response time">37 ms</span>' in html
