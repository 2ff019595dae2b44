"""Reads of the assistant: a user's conversations (searched full text on PostgreSQL, by contains on
SQLite), one conversation with its messages, and their JSON."""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from assistant.models import Conversation, Message, ToolAction


def conversations_list(*, user, q: str = "") -> QuerySet[Conversation]:
    """The user's conversations, most recent first; ``q`` finds words in titles and messages."""
    conversations = Conversation.objects.filter(user=user)
    q = (q or "").strip()
    if not q:
        return conversations
    return conversations.filter(
        Q(title__icontains=q) | Exists(_matching_messages(q).filter(conversation=OuterRef("pk")))
    )


def _matching_messages(q: str) -> QuerySet[Message]:
    if connection.vendor == "postgresql":
        # The expression of the GIN index made by migration 0002: the index answers it.
        vector = SearchVector("content", config="english")
        return Message.objects.annotate(search=vector).filter(
            search=SearchQuery(q, config="english", search_type="websearch")
        )
    return Message.objects.filter(content__icontains=q)


def conversation_get(*, user, conversation_id) -> Conversation:
    """One of the user's conversations; 404 for anyone else's, as if it did not exist."""
    try:
        return Conversation.objects.get(pk=int(conversation_id), user=user)
    except (Conversation.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such conversation.") from None


def answer_get(*, user, message_id) -> Message:
    """One of the user's assistant messages (an answer); 404 for anyone else's."""
    try:
        return Message.objects.get(pk=int(message_id), conversation__user=user, role=Message.Role.ASSISTANT)
    except (Message.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such message.") from None


def _iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def conversation_as_json(conversation: Conversation, *, with_messages: bool = False) -> dict:
    answer = {
        "id": conversation.pk,
        "title": conversation.title,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
    }
    if with_messages:
        messages = list(conversation.messages.all())
        states = dict(ToolAction.objects.filter(message__conversation=conversation).values_list("pk", "state"))
        answer["messages"] = [message_as_json(m, action_states=states) for m in messages]
    return answer


def message_as_json(message: Message, *, action_states: dict | None = None) -> dict:
    """A message with its tool calls (the card's fields, the audit record's current state) and cost."""
    calls = []
    for call in message.tool_calls:
        action = call.get("action")
        if action and action_states is not None and action["id"] in action_states:
            state = action_states[action["id"]]
            action = {**action, "state": state, "undo": action["undo"] and state == ToolAction.State.DONE}
        calls.append(
            {k: call.get(k) for k in ("id", "name", "arguments", "ok", "result", "links")} | {"action": action}
        )
    return {
        "id": message.pk,
        "role": message.role,
        "content": message.content,
        "tool_calls": calls,
        "provider": message.provider,
        "model": message.model,
        "input_tokens": message.input_tokens,
        "cached_input_tokens": message.cached_input_tokens,
        "output_tokens": message.output_tokens,
        "cost_usd": None if message.cost_usd is None else format(message.cost_usd.normalize(), "f"),
        "latency_ms": message.latency_ms,
        "incomplete": message.incomplete,
        "error": message.error,
        "created_at": _iso(message.created_at),
    }
