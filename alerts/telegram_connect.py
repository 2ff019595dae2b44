"""Linking a Telegram chat to a user: the settings page shows a one-time code and the link
``https://t.me/<bot>?start=<code>``; the chat that sends ``/start <code>`` to the bot becomes (or
re-enables) the user's Telegram channel. The bot's updates arrive by polling getUpdates (a beat task,
``telegram_updates_poll``) or, when TELEGRAM_WEBHOOK_URL is set, at ``telegram_webhook``, which Telegram
posts to with the secret token ``manage.py telegram_webhook`` registered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from alerts.models import Channel
from alerts.transports import TransportError
from alerts.transports.telegram import bot_username, telegram_call
from scalpaiboard.api import MAX_JSON_DEPTH, api_error, json_depth

logger = logging.getLogger(__name__)

CODE_SECONDS = 15 * 60
CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONNECTED = "Connected: your Scalpaiboard alerts will arrive in this chat."
UNKNOWN_CODE = "This link is unknown or expired. Get a new one under Settings → Notifications in Scalpaiboard."
NO_CODE = "To receive your alerts here, use the Connect Telegram link under Settings → Notifications in Scalpaiboard."


def connect_code_create(*, user) -> dict:
    """A one-time code linking the chat that sends it to ``user``'s alerts, kept 15 minutes:
    ``{"code", "link", "expires_at"}``. TransportError when the bot is not configured or out of reach."""
    link = f"https://t.me/{bot_username()}?start="
    code = secrets.token_urlsafe(16)  # Telegram's start parameter: up to 64 of A-Z a-z 0-9 _ -
    cache.set(_key("code", code), str(user.pk), CODE_SECONDS)
    return {"code": code, "link": link + code, "expires_at": timezone.now() + timedelta(seconds=CODE_SECONDS)}


def telegram_updates_handle(updates: list[dict]) -> int:
    """Act on the bot's updates: ``/start <code>`` links its chat to the code's user. Returns how many
    chats were linked."""
    linked = 0
    for update in updates:
        message = update.get("message") if isinstance(update, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            continue
        command, _, argument = str(message.get("text") or "").strip().partition(" ")
        if command.split("@")[0] == "/start" and "id" in message["chat"]:
            linked += _start(message["chat"], argument.strip())
    return linked


def telegram_updates_poll() -> int:
    """Fetch the bot's new updates (getUpdates after the last offset seen) and handle them; nothing when
    there is no bot, when Telegram posts them to TELEGRAM_WEBHOOK_URL, or while another poll runs."""
    if not settings.TELEGRAM_BOT_TOKEN or settings.TELEGRAM_WEBHOOK_URL:
        return 0
    if not cache.add(_key("polling"), 1, 60):
        return 0
    try:
        offset = cache.get(_key("offset"))
        params = {"timeout": 0, "allowed_updates": ["message"], **({"offset": offset} if offset else {})}
        updates = telegram_call("getUpdates", **params)
        if updates:  # confirmed before they are handled: an update that fails is not fetched forever
            cache.set(_key("offset"), max(u["update_id"] for u in updates) + 1, None)
        return telegram_updates_handle(updates)
    except TransportError as error:
        logger.warning("Telegram getUpdates failed: %s", error.message)
        return 0
    finally:
        cache.delete(_key("polling"))


def telegram_webhook_secret() -> str:
    """The secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token (derived from SECRET_KEY and the token)."""
    message = f"telegram-webhook:{settings.TELEGRAM_BOT_TOKEN}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


@csrf_exempt
def telegram_webhook(request: HttpRequest) -> JsonResponse:
    """Telegram posts the bot's updates here (one per request) when TELEGRAM_WEBHOOK_URL is set."""
    if request.method != "POST":
        return api_error(request, 405, f'Method "{request.method}" not allowed.')
    if not settings.TELEGRAM_BOT_TOKEN:
        return api_error(request, 404, "Telegram is not configured on this server.")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), telegram_webhook_secret().encode()):
        return api_error(request, 403, f"{SECRET_HEADER}: missing or wrong.")
    try:
        if json_depth(request.body) > MAX_JSON_DEPTH:
            raise ValueError("nested too deep")
        update = json.loads(request.body)
    except ValueError:
        return api_error(request, 400, "Request body: not a Telegram update (JSON object).")
    telegram_updates_handle([update] if isinstance(update, dict) else [])
    return JsonResponse({"ok": True})


def _start(chat: dict, code: str) -> int:
    """Handle ``/start <code>`` from ``chat``: link it and say so, or say what to do."""
    user_id = cache.get(_key("code", code)) if CODE.fullmatch(code) else None
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        _reply(chat["id"], UNKNOWN_CODE if code else NO_CODE)
        return 0
    cache.delete(_key("code", code))
    telegram_channel_link(user=user, chat=chat)
    _reply(chat["id"], CONNECTED)
    return 1


def telegram_channel_link(*, user, chat: dict) -> Channel:
    """``user``'s Telegram channel for ``chat`` (a Bot API Chat): created, or enabled again if it was disabled."""
    chat_id = str(chat["id"])
    channel = Channel.objects.filter(user=user, kind=Channel.Kind.TELEGRAM, chat_id=chat_id).first()
    if channel is None:
        return Channel.objects.create(user=user, kind=Channel.Kind.TELEGRAM, chat_id=chat_id, name=_chat_name(chat))
    if not channel.enabled:
        channel.enabled, channel.disabled_reason = True, ""
        channel.save(update_fields=["enabled", "disabled_reason", "updated_at"])
    return channel


def _chat_name(chat: dict) -> str:
    username = f"@{chat['username']}" if chat.get("username") else ""
    return f"Telegram {chat.get('title') or username or chat.get('first_name') or chat['id']}"[:100]


def _reply(chat_id: int, text: str) -> None:
    try:
        telegram_call("sendMessage", chat_id=chat_id, text=text)
    except TransportError as error:  # the link stands; only the answer is lost
        logger.warning("Telegram: cannot answer chat %s: %s", chat_id, error.message)


def _key(*parts: str) -> str:
    """A cache key of this bot's (codes and the updates offset belong to one bot token)."""
    bot = hashlib.sha256(settings.TELEGRAM_BOT_TOKEN.encode()).hexdigest()[:16]
    return ":".join(("telegram", bot, *parts))
