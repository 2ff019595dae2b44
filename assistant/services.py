"""Writes of the assistant: starting an answer (stored, then run by a Celery worker on the ``ai``
queue, or a thread in embedded mode), stopping it, renaming and deleting conversations, and the tool
cards' undo, confirm and decline."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.http import Http404

from assistant.loop import cancel_key, chat_run
from assistant.models import AssistantSettings, Conversation, Message, ToolAction
from assistant.selectors import answer_get, conversation_get
from providers.selectors import provider_get
from scalpaiboard.api import ApplicationError

MAX_MESSAGE = 8000
TITLE_WORDS = 8


class ChatInvalid(ApplicationError):
    def __init__(self, errors: dict):
        super().__init__("Invalid chat request: see the fields.", extra=errors)


def chat_start(*, user, text, conversation_id=None, provider_id=None, model=None) -> tuple[Conversation, Message]:
    """Store the user's message and the assistant's (empty, being written), and start the answer."""
    text, model = _text(text), _model(model)
    provider_id = _provider(user, provider_id)
    with transaction.atomic():
        if conversation_id is None:
            conversation = Conversation.objects.create(user=user, title=conversation_title(text))
        else:
            conversation = conversation_get(user=user, conversation_id=_integer(conversation_id, "conversation_id"))
            conversation.save(update_fields=["updated_at"])
        Message.objects.create(conversation=conversation, role=Message.Role.USER, content=text)
        answer = Message.objects.create(conversation=conversation, role=Message.Role.ASSISTANT)
        transaction.on_commit(lambda: chat_launch(message_id=answer.pk, provider_id=provider_id, model=model))
    return conversation, answer


def _text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatInvalid({"message": ["Required: what to ask, as text."]})
    if len(text) > MAX_MESSAGE or "\x00" in text:
        raise ChatInvalid({"message": [f"Must be text of at most {MAX_MESSAGE} characters, without NUL."]})
    return text.strip()


def _model(model) -> str | None:
    if model in (None, ""):
        return None
    if not isinstance(model, str) or len(model) > 200 or "\x00" in model:
        raise ChatInvalid({"model": ["Must be a model id of at most 200 characters, or left out."]})
    return model


def _integer(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise ChatInvalid({name: ["Must be the id (a positive integer) of one of yours, or left out."]})
    return value


def _provider(user, provider_id) -> int | None:
    if provider_id is None:
        return None
    config = provider_get(user=user, provider_id=_integer(provider_id, "provider_id"))
    if not config.enabled:
        raise ChatInvalid({"provider_id": ["This provider is disabled: enable it under Settings → AI providers."]})
    return config.pk


def conversation_title(text: str) -> str:
    """The first words of the first message (no model call: every provider request is one the user asked for)."""
    words = text.split()
    title = " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")
    return title[:200]


def chat_launch(*, message_id: int, provider_id: int | None, model: str | None) -> None:
    """Run the answer: on the ``ai`` queue in the full stack, in a thread of this process when embedded."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        thread = threading.Thread(target=_run_here, args=(message_id, provider_id, model), daemon=True)
        thread.start()
    else:
        from assistant.tasks import chat_run_task

        chat_run_task.apply_async(args=[message_id, provider_id, model], queue="ai")


def _run_here(message_id: int, provider_id: int | None, model: str | None) -> None:
    close_old_connections()
    try:
        chat_run(message_id=message_id, provider_id=provider_id, model=model)
    finally:
        connection.close()


def chat_cancel(*, user, message_id) -> None:
    """Stop the answer being written (what was streamed is kept; the message is marked incomplete)."""
    message = answer_get(user=user, message_id=message_id)
    cache.set(cancel_key(message.pk), True, 3600)


def conversation_rename(*, user, conversation_id, title) -> Conversation:
    conversation = conversation_get(user=user, conversation_id=conversation_id)
    if not isinstance(title, str) or not title.strip() or len(title) > 200 or "\x00" in title:
        raise ChatInvalid({"title": ["Must be text of 1 to 200 characters."]})
    conversation.title = title.strip()
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, user, conversation_id) -> None:
    conversation_get(user=user, conversation_id=conversation_id).delete()


def assistant_settings_set(*, user, ask_before_acting) -> AssistantSettings:
    if not isinstance(ask_before_acting, bool):
        raise ChatInvalid({"ask_before_acting": ["Must be true or false."]})
    row, _ = AssistantSettings.objects.update_or_create(user=user, defaults={"ask_before_acting": ask_before_acting})
    return row


def _action(user, action_id) -> ToolAction:
    try:
        return ToolAction.objects.select_for_update().get(pk=int(action_id), user=user)
    except (ToolAction.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such action.") from None


@transaction.atomic
def action_undo(*, user, action_id) -> ToolAction:
    """Take back what a tool did (the alert deleted, the coin taken off the list); once."""
    from assistant.tools import TOOLS

    action = _action(user, action_id)
    if action.state != ToolAction.State.DONE or action.undo is None:
        raise ApplicationError(f"This action is {action.state}: there is nothing to undo.", status_code=409)
    TOOLS[action.tool].undo(user=user, undo=action.undo)
    action.state = ToolAction.State.UNDONE
    action.save(update_fields=["state", "updated_at"])
    return action


@transaction.atomic
def action_confirm(*, user, action_id) -> ToolAction:
    """Do what the assistant proposed (the user asked to be asked before it acts)."""
    from assistant.tools import ToolError, tool_run

    action = _proposed(user, action_id)
    try:
        outcome = tool_run(user=user, name=action.tool, arguments=action.arguments)
    except ToolError as refused:
        raise ApplicationError(refused.message) from None
    action.state, action.undo = ToolAction.State.DONE, outcome.undo
    action.result = outcome.result if isinstance(outcome.result, dict) else {"rows": outcome.result}
    action.save(update_fields=["state", "undo", "result", "updated_at"])
    return action


@transaction.atomic
def action_decline(*, user, action_id) -> ToolAction:
    action = _proposed(user, action_id)
    action.state = ToolAction.State.DECLINED
    action.save(update_fields=["state", "updated_at"])
    return action


def _proposed(user, action_id) -> ToolAction:
    action = _action(user, action_id)
    if action.state != ToolAction.State.PROPOSED:
        raise ApplicationError(f"This action is {action.state}, not waiting for confirmation.", status_code=409)
    return action
