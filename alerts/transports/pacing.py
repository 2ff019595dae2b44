"""Telegram's rate limits, kept before each send so that a burst queues instead of drawing 429s: one
message a second per chat, 20 a minute per group (a negative chat id, one every 3 s), 30 a second for
the bot.

A send is booked into a schedule: the bot's time is cut into slots of 1/30 s, each holding one send,
and each chat (and group) keeps the time its next send may come. A send gets the first free bot slot
at or after its chat's next time. When that slot is near (EARLY), the sender sleeps until it and sends;
otherwise the slot stays reserved for the send's ``token`` and ``Paced(wait)`` puts the delivery off
until exactly then, when it goes ahead of newcomers. So a burst of a thousand messages is scheduled
once, each delivery put off once, and other chats' messages fill the bot's free slots in between.

The schedule lives in Redis (one Lua script, one round trip, on Redis' clock) when REDIS_URL is set,
so every worker shares it; in process memory otherwise, or while Redis is unreachable.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from alerts.transports import Paced

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` sends in any ``period`` seconds, spaced evenly."""

    count: int
    period: float

    @property
    def interval(self) -> float:
        return self.period / self.count


CHAT = Limit(1, 1.0)
GROUP = Limit(20, 60.0)
BOT = Limit(30, 1.0)
EARLY = 0.25  # a slot this close is waited for in place (the sender sleeps) rather than put off
RESERVED_FOR = 600  # seconds a reserved slot is kept after its time, for a send that comes back late

# KEYS: the bot's booked slots (a hash: slot number -> 1; past ones dropped as time passes), the first
# slot from now that may be free, the chat's next time, the group's next time (or an unused key), the
# send's reservation. ARGV: the bot's slots a second, the chat's and group's intervals (ms, 0: no
# group), parts, EARLY (ms), RESERVED_FOR (ms). Times are ms on Redis' clock.
# Returns {go, wait ms}: go 1 means send after wait (at most EARLY); go 0 means put off for wait.
SCHEDULE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local per_second, chat_gap, group_gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local parts, early, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local held = redis.call('GET', KEYS[5])
if held then
  local wait = tonumber(held) - now
  if wait > early then return {0, wait} end
  redis.call('DEL', KEYS[5])
  return {1, math.max(wait, 0)}
end
local current = math.ceil(now * per_second / 1000)
local hint = tonumber(redis.call('GET', KEYS[2]) or '0')
if hint < current - 60 * per_second then hint = current end
while hint < current do
  redis.call('HDEL', KEYS[1], hint)
  hint = hint + 1
end
while redis.call('HEXISTS', KEYS[1], hint) == 1 do hint = hint + 1 end
local start = math.max(now, tonumber(redis.call('GET', KEYS[3]) or '0'))
if group_gap > 0 then start = math.max(start, tonumber(redis.call('GET', KEYS[4]) or '0')) end
local slot = math.max(math.ceil(start * per_second / 1000), hint)
local first, booked = nil, 0
while booked < parts do
  if redis.call('HSETNX', KEYS[1], slot, 1) == 1 then
    first = first or slot
    booked = booked + 1
  end
  slot = slot + 1
end
redis.call('SET', KEYS[2], hint, 'PX', 60000)
local at = math.ceil(first * 1000 / per_second)
redis.call('SET', KEYS[3], at + chat_gap, 'PX', at + chat_gap - now + 1000)
if group_gap > 0 then redis.call('SET', KEYS[4], at + group_gap * parts, 'PX', at + group_gap * parts - now + 1000) end
redis.call('PEXPIRE', KEYS[1], at - now + 60000)
local wait = at - now
if wait > early then
  redis.call('SET', KEYS[5], at, 'PX', wait + keep)
  return {0, wait}
end
return {1, math.max(wait, 0)}
"""


def pace_telegram(chat_id: str, *, token: str = "", parts: int = 1) -> None:
    """Book the bot's next send to ``chat_id``: return when it may go (after at most EARLY seconds'
    sleep), else keep its slot for ``token`` and raise Paced(wait). ``token`` names the send across its
    comebacks (the delivery's webhook id); ``parts``: a message split in that many sendMessage calls,
    sent back to back, which take a bot slot each and count once for the chat."""
    token = token or uuid.uuid4().hex
    keys = telegram_keys(str(chat_id), token)
    go, wait = _book_shared(keys, str(chat_id), parts) if settings.REDIS_URL else _LOCAL.book(keys, str(chat_id), parts)
    if not go:
        raise Paced(wait)
    if wait > 0:
        time.sleep(wait)


def telegram_keys(chat_id: str, token: str) -> list[str]:
    """The schedule's keys a send to ``chat_id`` uses (per bot token): bot slots, the bot's first free
    slot, the chat's and the group's next times, the send's reservation."""
    bot = "pace:telegram:" + hashlib.sha256(settings.TELEGRAM_BOT_TOKEN.encode()).hexdigest()[:16]
    return [
        f"{bot}:slots",
        f"{bot}:free",
        f"{bot}:chat:{chat_id}",
        f"{bot}:group:{chat_id}",
        f"{bot}:slot:{chat_id}:{token}",
    ]


def _gaps(chat_id: str) -> tuple[int, int]:
    """The chat's and group's intervals in ms (the group's 0 for a private chat or a channel)."""
    group = round(GROUP.interval * 1000) if chat_id.startswith("-") else 0
    return round(CHAT.interval * 1000), group


def _book_shared(keys: list[str], chat_id: str, parts: int) -> tuple[bool, float]:
    """(go, wait seconds) from the schedule in Redis."""
    from django_redis import get_redis_connection
    from redis.exceptions import RedisError

    args = [BOT.count / BOT.period, *_gaps(chat_id), parts, round(EARLY * 1000), RESERVED_FOR * 1000]
    try:
        redis = get_redis_connection("default")
        go, wait = redis.register_script(SCHEDULE)(keys=[cache.make_key(k) for k in keys], args=args)
    except RedisError as error:
        logger.warning("Telegram pacing counts in this process while Redis is unreachable: %s", error)
        return _LOCAL.book(keys, chat_id, parts)
    return bool(go), int(wait) / 1000


class LocalSchedule:
    """The same schedule in this process' memory (embedded mode: one process sends)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._slots: dict[str, set[int]] = {}  # per bot
        self._next: dict[str, float] = {}
        self._reserved: dict[str, float] = {}

    def book(self, keys: list[str], chat_id: str, parts: int) -> tuple[bool, float]:
        bot, _, chat, group, reservation = keys
        chat_gap, group_gap = (gap / 1000 for gap in _gaps(chat_id))
        per_second = BOT.count / BOT.period
        with self._lock:
            now = time.monotonic()
            if reservation in self._reserved:
                return self._comeback(reservation, now)
            start = max(now, self._next.get(chat, 0.0), self._next.get(group, 0.0) if group_gap else 0.0)
            first = self._take(self._slots.setdefault(bot, set()), math.ceil(start * per_second), parts)
            at = first / per_second
            self._next[chat] = at + chat_gap
            if group_gap:
                self._next[group] = at + group_gap * parts
            self._forget(now, per_second)
            if at - now > EARLY:
                self._reserved[reservation] = at
                return False, at - now
            return True, max(at - now, 0.0)

    def _comeback(self, reservation: str, now: float) -> tuple[bool, float]:
        wait = self._reserved[reservation] - now
        if wait > EARLY:
            return False, wait
        del self._reserved[reservation]
        return True, max(wait, 0.0)

    @staticmethod
    def _take(booked: set[int], slot: int, parts: int) -> int:
        """Book the first ``parts`` free slots from ``slot``; return the first."""
        first = None
        while parts:
            if slot not in booked:
                booked.add(slot)
                first = slot if first is None else first
                parts -= 1
            slot += 1
        return first

    def _forget(self, now: float, per_second: float) -> None:
        if sum(map(len, self._slots.values())) + len(self._next) + len(self._reserved) > 10_000:  # the past
            self._slots = {bot: {s for s in slots if s >= now * per_second} for bot, slots in self._slots.items()}
            self._next = {key: at for key, at in self._next.items() if at > now}
            self._reserved = {key: at for key, at in self._reserved.items() if at > now - RESERVED_FOR}


_LOCAL = LocalSchedule()
