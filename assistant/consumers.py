"""The /ws ``chat`` channel: the assistant's answers streamed to a page over its one socket.

The main consumer (markets/consumers.py) hands every ``chat`` action to the socket's ``ChatChannel``:

- ``{"action": "chat", "message", "conversation_id"?, "provider_id"?, "model"?}`` starts an answer
  (``assistant.services.chat_start``) and follows it;
- ``{"action": "subscribe", "channel": "chat", "message_id", "after"?}`` follows an answer from the
  event after ``after`` (a page that reconnected mid-answer asks for the rest);
- ``{"action": "cancel", "channel": "chat", "message_id"}`` stops it (what was streamed is kept).

Each event of ``assistant.relay.relay_follow`` goes out as ``{"type": "chat", "message_id", "seq",
"event", "data"}``. Only a signed-in user chats, and only about their own messages: another user's
message id is answered "no such message", exactly as one that does not exist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels.db import database_sync_to_async
from django.http import Http404

from assistant.relay import relay_follow
from assistant.selectors import answer_get
from assistant.services import chat_cancel, chat_start
from scalpaiboard.api import ApplicationError

logger = logging.getLogger(__name__)

SIGN_IN = "sign in to chat with the assistant: open the page signed in, or send an 'auth' action with a JWT first"
NO_SUCH_MESSAGE = "no such message"
MAX_FOLLOWED = 8  # answers one socket follows at once


class ChatRefused(Exception):
    """A chat frame that cannot be carried out; its text goes back as the error and the socket stays open."""


class ChatChannel:
    """One socket's chat: the answers it follows, each a task relaying its events to the socket."""

    def __init__(self, *, send_json: Callable, user_of: Callable):
        self.send_json = send_json
        self.user_of = user_of  # the socket's current user (None when signed out): it can change with 'auth'
        self.following: dict[int, asyncio.Task] = {}

    async def handle(self, message: dict) -> None:
        """Carry out a chat frame (``action`` chat, subscribe or cancel)."""
        user = self.user_of()
        if user is None:
            raise ChatRefused(SIGN_IN)
        action = message["action"]
        if action == "chat":
            await self.start(user, message)
        elif action == "subscribe":
            message_id, after = message_id_of(message), after_of(message)
            await self.check_owner(user, message_id)
            self.follow(message_id, after)
        elif action == "cancel":
            await self.cancel(user, message_id_of(message))
        else:
            raise ChatRefused("'action' must be one of 'chat', 'subscribe', 'cancel' on the chat channel")

    async def start(self, user, message: dict) -> None:
        text = message.get("message")
        if not isinstance(text, str) or not text.strip():
            raise ChatRefused("'message' must be the question, a non-empty string")
        options = {name: message.get(name) for name in ("conversation_id", "provider_id", "model")}
        for name in ("conversation_id", "provider_id"):
            if options[name] is not None and not isinstance(options[name], int | str):
                raise ChatRefused(f"'{name}' must be an id")
        if options["model"] is not None and not isinstance(options["model"], str):
            raise ChatRefused("'model' must be a model name, a string")
        try:
            _, answer = await database_sync_to_async(chat_start)(user=user, text=text, **options)
        except ApplicationError as refused:
            raise ChatRefused(refusal(refused)) from None
        except Http404 as missing:
            raise ChatRefused(str(missing) or "no such conversation or provider") from None
        self.follow(answer.pk, 0)

    async def cancel(self, user, message_id: int) -> None:
        await self.check_owner(user, message_id)
        try:
            await database_sync_to_async(chat_cancel)(user=user, message_id=message_id)
        except Http404:
            raise ChatRefused(NO_SUCH_MESSAGE) from None
        except ApplicationError as refused:
            raise ChatRefused(refusal(refused)) from None
        await self.send_json({"type": "cancelled", "channel": "chat", "message_id": message_id})

    async def check_owner(self, user, message_id: int) -> None:
        mine = await database_sync_to_async(message_owned)(user=user, message_id=message_id)
        if not mine:
            raise ChatRefused(NO_SUCH_MESSAGE)

    def follow(self, message_id: int, after: int) -> None:
        """Relay the answer's events after ``after``; following it again (a resume) replaces the old task."""
        previous = self.following.pop(message_id, None)
        if previous is not None:
            previous.cancel()
        if len(self.following) >= MAX_FOLLOWED:
            raise ChatRefused(f"at most {MAX_FOLLOWED} answers followed at once on one socket")
        task = asyncio.create_task(self.relay(message_id, after))
        self.following[message_id] = task
        task.add_done_callback(lambda done: self.forget(message_id, done))

    def forget(self, message_id: int, task: asyncio.Task) -> None:
        if self.following.get(message_id) is task:
            del self.following[message_id]

    async def relay(self, message_id: int, after: int) -> None:
        try:
            async for event in relay_follow(message_id=message_id, after=after):
                await self.send_json(
                    {
                        "type": "chat",
                        "message_id": message_id,
                        "seq": event["seq"],
                        "event": event["event"],
                        "data": event["data"],
                    }
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Could not relay an answer to a /ws socket")
            await self.send_json({"type": "error", "message": f"the answer {message_id} could not be followed"})

    async def close(self) -> None:
        """Stop following everything (the socket closed); the answers themselves run on."""
        tasks = list(self.following.values())
        self.following.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def message_id_of(message: dict) -> int:
    value = message.get("message_id")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ChatRefused("'message_id' must be the answer's id, a positive integer")
    return value


def after_of(message: dict) -> int:
    value = message.get("after", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ChatRefused("'after' must be the last seq seen, an integer of 0 or more")
    return value


def message_owned(*, user, message_id: int) -> bool:
    """Whether ``message_id`` is an answer (assistant message) in one of ``user``'s conversations."""
    try:
        answer_get(user=user, message_id=message_id)
    except Http404:
        return False
    return True


def refusal(error: ApplicationError) -> str:
    """The service's refusal as one line naming the fields: "message: Required: what to ask, as text."."""
    fields = [f"{name}: {' '.join(map(str, problems))}" for name, problems in error.extra.items()
              if isinstance(problems, list)]  # fmt: skip
    return "; ".join(fields) or error.message
