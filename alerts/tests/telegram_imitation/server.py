"""The imitation's server: the Bot API's ``/bot<token>/<method>`` on aiohttp, the bot's chats and
updates, scripted failures, and the record of what it was sent.

Methods: getMe, sendMessage, getUpdates (offset confirms, limit, long polling with ``timeout``; 409
while a webhook is set), setWebhook (``secret_token``; updates are then posted to the URL with the
``X-Telegram-Bot-Api-Secret-Token`` header), deleteWebhook, getWebhookInfo. Parameters come in the
query string, a form or a JSON body, as Telegram takes them. Answers are ``{"ok": true, "result": …}``
or ``{"ok": false, "error_code": …, "description": …, "parameters"?: …}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field

from aiohttp import ClientSession, ClientTimeout, web

from alerts.tests.telegram_imitation.entities import EntitiesError, html_plain
from tests.local_server import listen, serving_in_thread

MAX_TEXT = 4096
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class Failure:
    """An error answer: Telegram's status, description and ``parameters`` (retry_after, migrate_to_chat_id).
    ``html``: answered as a proxy's HTML page instead of the API's JSON (a 502 from nginx)."""

    status: int
    description: str
    parameters: dict | None = None
    html: bool = False


def too_many_requests(retry_after: int) -> Failure:
    return Failure(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def migrated(to_chat_id: int) -> Failure:
    return Failure(400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": to_chat_id})


BLOCKED = Failure(403, "Forbidden: bot was blocked by the user")
KICKED = Failure(403, "Forbidden: bot was kicked from the group chat")
CHAT_NOT_FOUND = Failure(400, "Bad Request: chat not found")
WEBHOOK_ACTIVE = Failure(
    409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
SERVER_ERROR = Failure(500, "Internal Server Error")
BAD_GATEWAY = Failure(502, "Bad Gateway", html=True)


class ApiError(Exception):
    def __init__(self, failure: Failure):
        self.failure = failure


@dataclass
class SentMessage:
    """A message the bot sent: ``text`` as sent, ``plain`` as the user sees it (entities parsed)."""

    at: float
    message_id: int
    chat_id: str
    text: str
    plain: str
    parse_mode: str | None
    params: dict


@dataclass
class ApiCall:
    at: float
    method: str
    params: dict
    status: int = 200


@dataclass
class Webhook:
    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    deliveries: list[tuple[int, int]] = field(default_factory=list)  # (update_id, status or 0 for an error)


class TelegramImitation:
    """A Bot API for one bot on 127.0.0.1. ``token`` is the only one it accepts (401 otherwise).

    Scripted failures: ``fail(chat_id, failure, count=…)`` answers sendMessage to that chat with the
    failure (``count=None``: until ``heal``), ``fail_method(method, failure, count=…)`` any call of a method.
    Updates: ``user_sends(chat_id, text)`` queues a message from a user (delivered by getUpdates, or
    posted to the webhook when one is set).
    """

    def __init__(
        self,
        token: str = "123456:TEST-imitation-token",
        *,
        username: str = "scalpaiboard_test_bot",
        webhook_https_only: bool = True,
    ):
        self.token = token
        self.bot = {
            "id": int(token.split(":")[0]) if token.split(":")[0].isdigit() else 123456,
            "is_bot": True,
            "first_name": "Scalpaiboard",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.webhook_https_only = webhook_https_only
        self.messages: list[SentMessage] = []
        self.calls: list[ApiCall] = []
        self.updates: list[dict] = []  # not yet confirmed by getUpdates' offset
        self.webhook = Webhook()
        self._failures: dict[str, list[tuple[Failure, int | None]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._update_ids = itertools.count(100_000_001)
        self._message_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- the script -----------------------------------------------------------------------------

    def fail(self, chat_id: int | str, failure: Failure, *, count: int | None = 1) -> None:
        """Answer the next ``count`` sendMessage calls to ``chat_id`` with ``failure`` (None: every one)."""
        with self._lock:
            self._failures[f"chat:{chat_id}"].append((failure, count))

    def fail_method(self, method: str, failure: Failure, *, count: int | None = 1) -> None:
        """Answer the next ``count`` calls of ``method`` (any chat) with ``failure`` (None: every one)."""
        with self._lock:
            self._failures[f"method:{method}"].append((failure, count))

    def heal(self) -> None:
        """Forget every scripted failure."""
        with self._lock:
            self._failures.clear()

    def _scripted(self, key: str) -> Failure | None:
        with self._lock:
            queue = self._failures.get(key)
            if not queue:
                return None
            failure, count = queue[0]
            if count is not None:
                if count <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (failure, count - 1)
            return failure

    def user_sends(self, chat_id: int, text: str, *, first_name: str = "Ann", username: str | None = "ann") -> dict:
        """Queue the update of a user sending ``text`` to the bot in ``chat_id`` (a group when negative)."""
        user = {"id": abs(chat_id), "is_bot": False, "first_name": first_name, "language_code": "en"}
        if username:
            user["username"] = username
        message = {
            "message_id": next(self._message_ids),
            "from": user,
            "chat": _chat(chat_id, user),
            "date": int(time.time()),
            "text": text,
        }
        command = re.match(r"/\w+(@\w+)?", text)
        if command:
            message["entities"] = [{"offset": 0, "length": command.end(), "type": "bot_command"}]
        return self.queue_update({"message": message})

    def queue_update(self, update: dict) -> dict:
        """Queue any update (its ``update_id`` is assigned); returns it."""
        with self._lock:
            update = {"update_id": next(self._update_ids), **update}
            self.updates.append(update)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._updates_arrived)
        return update

    def _updates_arrived(self) -> None:
        self._new_update.set()
        if self.webhook.url:
            self._loop.create_task(self._post_updates())

    # --- what it was sent -------------------------------------------------------------------------

    def messages_to(self, chat_id: int | str) -> list[SentMessage]:
        return [m for m in self.messages if m.chat_id == str(chat_id)]

    def rates(self) -> dict:
        """The most messages seen in any window of Telegram's limits: per chat in 1 s, per group (negative
        id) in 60 s, for the bot in 1 s; a client that paces well keeps them at 1, 20 and 30."""
        by_chat: dict[str, list[float]] = defaultdict(list)
        for message in self.messages:
            by_chat[message.chat_id].append(message.at)
        groups = [times for chat, times in by_chat.items() if chat.startswith("-")]
        return {
            "messages": len(self.messages),
            "chat_per_second": max((_most_in(times, 1.0) for times in by_chat.values()), default=0),
            "group_per_minute": max((_most_in(times, 60.0) for times in groups), default=0),
            "bot_per_second": _most_in([m.at for m in self.messages], 1.0),
        }

    # --- the API --------------------------------------------------------------------------------

    async def endpoint(self, request: web.Request) -> web.Response:
        params = await _params(request)
        call = ApiCall(time.time(), request.match_info["method"], params)
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(Failure(401, "Unauthorized"))
            handler = self.methods().get(call.method.lower())
            if handler is None:
                raise ApiError(Failure(404, "Not Found"))
            failure = self._scripted(f"method:{call.method}")
            if failure is not None:
                raise ApiError(failure)
            result = await handler(params)
        except ApiError as error:
            call.status = error.failure.status
            return _error_response(error.failure)
        return _json({"ok": True, "result": result})

    def methods(self) -> dict:
        return {
            "getme": self.get_me,
            "sendmessage": self.send_message,
            "getupdates": self.get_updates,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
        }

    async def get_me(self, params: dict) -> dict:
        return self.bot

    async def send_message(self, params: dict) -> dict:
        chat_id, text = str(params.get("chat_id", "")), params.get("text")
        if not chat_id:
            raise ApiError(Failure(400, "Bad Request: chat_id is empty"))
        failure = self._scripted(f"chat:{chat_id}")
        if failure is not None:
            raise ApiError(failure)
        if not isinstance(text, str) or not text.strip():
            raise ApiError(Failure(400, "Bad Request: message text is empty"))
        parse_mode = params.get("parse_mode")
        plain = self._parsed(text, parse_mode)
        if len(plain.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise ApiError(Failure(400, "Bad Request: message is too long"))
        message = SentMessage(time.time(), next(self._message_ids), chat_id, text, plain, parse_mode, params)
        self.messages.append(message)
        return {
            "message_id": message.message_id,
            "from": {k: self.bot[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": _chat(chat_id),
            "date": int(message.at),
            "text": plain,
        }

    @staticmethod
    def _parsed(text: str, parse_mode: str | None) -> str:
        if parse_mode is None:
            return text
        if parse_mode.lower() != "html":
            raise ApiError(Failure(400, f"Bad Request: unsupported parse_mode {parse_mode!r} in this imitation"))
        try:
            return html_plain(text)
        except EntitiesError as error:
            raise ApiError(Failure(400, f"Bad Request: can't parse entities: {error}")) from None

    async def get_updates(self, params: dict) -> list[dict]:
        if self.webhook.url:
            raise ApiError(WEBHOOK_ACTIVE)
        offset, limit = int(params.get("offset") or 0), min(int(params.get("limit") or 100), 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            self._new_update.clear()
            with self._lock:
                if offset:  # confirms every update before it
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                pending = self.updates[:limit]
            if pending or time.monotonic() >= deadline:
                return pending
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    async def set_webhook(self, params: dict) -> bool:
        url, secret = params.get("url") or "", params.get("secret_token")
        if not url:
            return await self.delete_webhook(params)
        if self.webhook_https_only and not url.startswith("https://"):
            raise ApiError(Failure(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"))
        if secret is not None and not SECRET_TOKEN.fullmatch(secret):
            raise ApiError(Failure(400, "Bad Request: secret token contains unallowed characters"))
        if params.get("drop_pending_updates") in (True, "true", "True", "1"):
            self.updates.clear()
        self.webhook = Webhook(url, secret, params.get("allowed_updates"))
        self._loop.create_task(self._post_updates())
        return True

    async def delete_webhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates") in (True, "true", "True", "1"):
            self.updates.clear()
        self.webhook = Webhook()
        return True

    async def get_webhook_info(self, params: dict) -> dict:
        return {"url": self.webhook.url, "has_custom_certificate": False, "pending_update_count": len(self.updates)}

    async def _post_updates(self) -> None:
        """Post the pending updates to the webhook, in order, stopping at the first one it does not take."""
        webhook = self.webhook
        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook.secret_token} if webhook.secret_token else {}
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while self.updates and self.webhook is webhook:
                update = self.updates[0]
                try:
                    async with session.post(webhook.url, json=update, headers=headers) as response:
                        webhook.deliveries.append((update["update_id"], response.status))
                        if response.status >= 300:
                            return
                except OSError:
                    webhook.deliveries.append((update["update_id"], 0))
                    return
                with self._lock:
                    self.updates = [u for u in self.updates if u["update_id"] != update["update_id"]]

    # --- for the benchmark (not Telegram's) ----------------------------------------------------------

    async def imitation_messages(self, request: web.Request) -> web.Response:
        return _json([asdict(m) for m in self.messages])

    async def imitation_stats(self, request: web.Request) -> web.Response:
        return _json(self.rates())

    async def imitation_updates(self, request: web.Request) -> web.Response:
        body = await request.json()
        return _json(self.user_sends(int(body["chat_id"]), body["text"]))

    # --- running --------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self.endpoint)
        app.router.add_get("/_imitation/messages", self.imitation_messages)
        app.router.add_get("/_imitation/stats", self.imitation_stats)
        app.router.add_post("/_imitation/updates", self.imitation_updates)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._new_update = asyncio.Event()
        self._runner, self.port = await listen(self.app(), host, port)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The API root, as TELEGRAM_API_URL takes it."""
        return f"http://127.0.0.1:{self.port}"


def _chat(chat_id: int | str, user: dict | None = None) -> dict:
    chat_id = str(chat_id)
    if chat_id.startswith("@"):
        return {"id": -1001000000000 - len(chat_id), "title": chat_id[1:], "username": chat_id[1:], "type": "channel"}
    number = int(chat_id)
    if number > 0:
        user = user or {"first_name": "Ann", "username": "ann"}
        return {"id": number, "type": "private", **{k: user[k] for k in ("first_name", "username") if k in user}}
    kind = "supergroup" if chat_id.startswith("-100") else "group"
    return {"id": number, "title": f"Group {-number}", "type": kind}


async def _params(request: web.Request) -> dict:
    """The call's parameters, from the query string and a JSON or form body, as the Bot API reads them."""
    params = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(await request.post())
    return params


def _error_response(failure: Failure) -> web.Response:
    if failure.html:
        html = f"<html><head><title>{failure.status} {failure.description}</title></head></html>"
        return web.Response(status=failure.status, text=html, content_type="text/html")
    body = {"ok": False, "error_code": failure.status, "description": failure.description}
    if failure.parameters:
        body["parameters"] = failure.parameters
    return _json(body, status=failure.status)


def _json(body, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _most_in(times: list[float], window: float) -> int:
    """The most of ``times`` inside any half-open window of ``window`` seconds."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def imitation_running(imitation: TelegramImitation) -> AbstractContextManager[TelegramImitation]:
    """Serve ``imitation`` from a thread of its own (its own event loop) for the ``with`` block."""
    return serving_in_thread(imitation, "telegram-imitation")
