"""Telegram's rate limits, kept before each send so that a burst queues instead of drawing 429s: one
message a second per chat, 20 a minute per group (a negative chat id), 30 a second for the bot.

Each limit is a sliding window (never more than ``count`` sends in any ``period``), counted in Redis
by one Lua script (one round trip, atomic, on Redis' clock) when REDIS_URL is set, so every worker
shares them; in process memory otherwise, or while Redis is unreachable.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from alerts.transports import Paced

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` sends in any ``period`` seconds."""

    count: int
    period: float


CHAT = Limit(1, 1.0)
GROUP = Limit(20, 60.0)
BOT = Limit(30, 1.0)

# KEYS: the windows. ARGV: parts, a unique name for this call's sends, then count and period (µs) per
# window. Returns 0 and records the sends when every window has room, else the µs until they all do.
WINDOWS_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local parts = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local count, period = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  local over = redis.call('ZCARD', key) + math.min(parts, count) - count
  if over > 0 then
    local frees = redis.call('ZRANGE', key, over - 1, over - 1, 'WITHSCORES')
    wait = math.max(wait, tonumber(frees[2]) + period - now)
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  for part = 1, parts do
    redis.call('ZADD', key, now, ARGV[2] .. ':' .. part)
  end
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i + 2]) / 1000) + 1000)
end
return 0
"""


def pace_telegram(chat_id: str, *, parts: int = 1) -> None:
    """Take the bot's next send to ``chat_id`` now, or raise Paced(wait) and take nothing. ``parts``: a
    message split in that many sendMessage calls, sent back to back; each counts for the group and the
    bot, but they make one message for the chat's one a second."""
    windows = telegram_windows(str(chat_id))
    wait = _take_shared(windows, parts) if settings.REDIS_URL else _LOCAL.take(windows, parts)
    if wait > 0:
        raise Paced(wait)


def telegram_windows(chat_id: str) -> list[tuple[str, Limit]]:
    """The limits a send to ``chat_id`` counts against, with their keys (per bot token)."""
    bot = "pace:telegram:" + hashlib.sha256(settings.TELEGRAM_BOT_TOKEN.encode()).hexdigest()[:16]
    windows = [(f"{bot}:chat:{chat_id}", CHAT)]
    if chat_id.startswith("-"):
        windows.append((f"{bot}:group:{chat_id}", GROUP))
    return [*windows, (f"{bot}:all", BOT)]


def _take_shared(windows: list[tuple[str, Limit]], parts: int) -> float:
    """The wait (seconds) the Redis windows ask for, having recorded the sends when it is 0."""
    from django_redis import get_redis_connection
    from redis.exceptions import RedisError

    args = [parts, uuid.uuid4().hex]
    for _, limit in windows:
        args += [limit.count, int(limit.period * 1_000_000)]
    try:
        redis = get_redis_connection("default")
        waited = redis.register_script(WINDOWS_TAKE)(keys=[cache.make_key(k) for k, _ in windows], args=args)
    except RedisError as error:
        logger.warning("Telegram pacing counts in this process while Redis is unreachable: %s", error)
        return _LOCAL.take(windows, parts)
    return int(waited) / 1_000_000


class LocalWindows:
    """The same sliding windows in this process' memory (embedded mode: one process sends)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}

    def take(self, windows: list[tuple[str, Limit]], parts: int) -> float:
        now, wait = time.monotonic(), 0.0
        with self._lock:
            for key, limit in windows:
                sent = self._sent.setdefault(key, deque())
                while sent and sent[0] <= now - limit.period:
                    sent.popleft()
                over = len(sent) + min(parts, limit.count) - limit.count
                if over > 0:
                    wait = max(wait, sent[over - 1] + limit.period - now)
            if wait > 0:
                return wait
            for key, _ in windows:
                self._sent[key].extend([now] * parts)
            if len(self._sent) > 10_000:  # chats that went quiet: forget them
                self._sent = {key: sent for key, sent in self._sent.items() if sent and sent[-1] > now - 60}
        return 0.0


_LOCAL = LocalWindows()
