"""Telegram: the Bot API client (``telegram_call``, against ``{TELEGRAM_API_URL}/bot{token}/{method}``) and
the transport sending alert messages to a channel's chat, in HTML parse mode with the user's text
escaped, split at 4,096 characters on line boundaries, paced by ``alerts.transports.pacing``.

Answers: 429 waits its ``retry_after``; 403 (blocked, kicked) and 400 (chat not found, no rights)
are permanent; a group upgraded to a supergroup is followed to its new id; 401, 404, 5xx and
network errors are transient (a bad token is the operator's to fix, not a reason to disable a chat).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

from alerts.models import Channel
from alerts.transports import Message, Transport, TransportError
from alerts.transports.pacing import pace_telegram

MAX_LENGTH = 4096  # characters of a message, Telegram's limit
TITLE_LENGTH = 256
TIMEOUT = 10.0
CHAT_ID = re.compile(r"-?[1-9]\d{0,19}|@[A-Za-z][A-Za-z0-9_]{4,31}")
_client: tuple[int, httpx.Client] | None = None  # (pid, client): kept-alive connections, one set per process


class TelegramMigrated(TransportError):
    """The group became a supergroup with a new chat id (``to_chat_id``); sending there works."""

    def __init__(self, message: str, to_chat_id: int):
        super().__init__(message)
        self.to_chat_id = to_chat_id


def telegram_call(method: str, **params) -> Any:
    """Call the Bot API's ``method`` with ``params`` (sent as JSON); its ``result`` (a dict for most
    methods, a list for getUpdates, True for setWebhook). TransportError when Telegram refuses or is
    out of reach, sorted as the module says."""
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        raise TransportError("Telegram is not configured: TELEGRAM_BOT_TOKEN is empty")
    url = f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot{token}/{method}"
    try:
        response = _http().post(url, json=params, timeout=TIMEOUT + float(params.get("timeout") or 0))
    except httpx.TimeoutException:
        raise TransportError(f"Telegram did not answer {method} within {TIMEOUT:g} s") from None
    except httpx.HTTPError as error:  # the URL holds the token: only the error's own text
        raise TransportError(f"cannot reach Telegram: {type(error).__name__} {error}") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("ok"):
        return answer.get("result")
    raise telegram_error(response.status_code, answer if isinstance(answer, dict) else {})


def telegram_error(status: int, answer: dict) -> TransportError:
    """The TransportError for a Bot API error answer (``{"ok": false, "error_code", "description", ...}``)."""
    code = answer.get("error_code") or status
    said = f"Telegram: {answer.get('description') or f'HTTP {status}'}"
    parameters = answer.get("parameters") or {}
    if code == 429:
        return TransportError(said, retry_after=parameters.get("retry_after"))
    if code == 400 and parameters.get("migrate_to_chat_id"):
        return TelegramMigrated(said, parameters["migrate_to_chat_id"])
    return TransportError(said, permanent=code in (400, 403))


def bot_username() -> str:
    """The bot's @username without the @ (getMe, cached a day); TransportError when there is no bot."""
    key = "telegram:username:" + hashlib.sha256(settings.TELEGRAM_BOT_TOKEN.encode()).hexdigest()[:16]
    username = cache.get(key)
    if username is None:
        username = telegram_call("getMe")["username"]
        cache.set(key, username, 24 * 3600)
    return username


def chat_id_refusal(value: object) -> str | None:
    """Why ``value`` is no chat id a bot can send to, or None: a number (negative for a group), or a
    public channel's @username."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and CHAT_ID.fullmatch(value):
        return None
    return "must be a numeric chat id (such as 123456789, or -1001234567890 for a group) or a channel's @username"


def telegram_lines(message: Message) -> list[str]:
    """The message as HTML lines, each complete in itself: the subject in bold, the text escaped, the link."""
    lines = [f"<b>{html.escape(message.subject[:TITLE_LENGTH], quote=False)}</b>"] if message.subject else []
    lines += [html.escape(line, quote=False) for line in message.text.splitlines()]
    if message.link.startswith(("https://", "http://")):  # Telegram refuses a relative href
        lines.append(f'<a href="{html.escape(message.link)}">Open the alert</a>')
    return lines


def telegram_parts(lines: list[str], limit: int = MAX_LENGTH) -> list[str]:
    """``lines`` joined into messages of at most ``limit`` characters, cut between lines; a line longer
    than a message (escaped text only: never a tag) is cut too, at a space when it can, never inside an
    entity."""
    parts, current = [], ""
    for line in lines:
        while line:
            room = limit - len(current) - (1 if current else 0)
            if len(line) <= room:
                current, line = f"{current}\n{line}" if current else line, ""
            elif len(line) <= limit or "<" in line or room < limit // 4:
                parts.append(current)
                current = ""
            else:
                cut = _cut(line, room)
                parts.append(f"{current}\n{line[:cut]}" if current else line[:cut])
                current, line = "", line[cut:]
    parts.append(current)
    return [part for part in parts if part.strip()]


def _cut(line: str, room: int) -> int:
    """Where to cut ``line`` to keep at most ``room`` characters: not inside ``&amp;``, at a space if any."""
    cut = room
    entity = line.rfind("&", max(0, cut - 7), cut)
    if entity != -1 and ";" not in line[entity:cut]:
        cut = entity
    space = line.rfind(" ", cut // 2, cut)
    return space + 1 if space != -1 else cut


class TelegramTransport(Transport):
    """Sends messages to a channel's chat through the bot."""

    kind = "telegram"

    def send(self, channel: Channel, message: Message) -> None:
        parts = telegram_parts(telegram_lines(message))
        pace_telegram(channel.chat_id, token=message.webhook_id, parts=len(parts))
        for part in parts:
            self._send_part(channel, part)

    def _send_part(self, channel: Channel, text: str) -> None:
        params = {"text": text, "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
        try:
            telegram_call("sendMessage", chat_id=channel.chat_id, **params)
        except TelegramMigrated as moved:
            _chat_moved(channel, moved.to_chat_id)
            telegram_call("sendMessage", chat_id=channel.chat_id, **params)


def _chat_moved(channel: Channel, to_chat_id: int) -> None:
    """Follow a group that became a supergroup: the channel sends to its new id from now on."""
    channel.chat_id = str(to_chat_id)
    if channel.pk:
        Channel.objects.filter(pk=channel.pk).update(chat_id=channel.chat_id)


def _http() -> httpx.Client:
    """This process' client (a worker forked from another must not share its connections)."""
    global _client
    if _client is None or _client[0] != os.getpid():
        _client = (os.getpid(), httpx.Client(timeout=TIMEOUT))
    return _client[1]


TRANSPORT = TelegramTransport()
