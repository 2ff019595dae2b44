"""Telegram's pacing: one message a second per chat, 20 a minute per group, 30 a second for the bot,
each refused send given a reserved slot, kept in Redis (shared by every worker) when REDIS_URL is set
and in process memory otherwise."""

from __future__ import annotations

import secrets
import time

import pytest
from django.core.cache import cache

from alerts.transports import Paced, pacing
from alerts.transports.pacing import Limit, pace_telegram

BACKENDS = ["redis", "memory"]


@pytest.fixture(params=BACKENDS)
def backend(request, settings, monkeypatch):
    """Each test runs against the Redis windows (when this run has Redis) and the in-process ones, for a
    bot of its own (the windows count per bot token)."""
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("no REDIS_URL: embedded mode paces in process only")
    if request.param == "memory" and settings.REDIS_URL:  # not REDIS_URL = None: the cache would FLUSHDB
        monkeypatch.setattr(pacing, "_book_shared", pacing._LOCAL.book)
    settings.TELEGRAM_BOT_TOKEN = f"{secrets.randbelow(10**9)}:pacing-{secrets.token_hex(8)}"
    return request.param


def paced(chat_id: str, **kwargs) -> float:
    """The wait pace_telegram asks for (0 when it takes the send)."""
    try:
        pace_telegram(chat_id, **kwargs)
    except Paced as put_off:
        return put_off.wait
    return 0.0


def test_a_burst_to_one_chat_is_scheduled_a_second_apart(backend):
    assert paced("42") == 0
    assert 0.9 < paced("42") <= 1.04
    assert 1.9 < paced("42") <= 2.07  # each refused send holds the next slot: the queue is scheduled once


def test_a_send_that_comes_back_at_its_slot_goes_ahead_of_newcomers(backend, monkeypatch):
    monkeypatch.setattr(pacing, "CHAT", Limit(1, 0.5))
    assert paced("42", token="first") == 0
    wait = paced("42", token="second")
    assert 0.4 < wait <= 0.54  # a bot slot is 1/30 s: a time falls on the next one
    assert paced("42", token="second") > 0.25  # too early: still put off, the slot still its own
    time.sleep(wait - 0.2)
    started = time.monotonic()
    assert paced("42", token="second") == 0  # within EARLY of its slot: it sleeps until then and goes
    assert time.monotonic() - started <= 0.25
    assert 0.4 < paced("42", token="third") <= 1.0  # a newcomer queues behind the reserved slot


def test_other_chats_are_not_held_by_one_busy_chat(backend):
    assert paced("42") == 0
    assert paced("43") == 0
    assert paced("@alerts_channel") == 0


def test_a_group_gets_a_message_every_3_seconds(backend, monkeypatch):
    monkeypatch.setattr(pacing, "CHAT", Limit(100, 1.0))  # without the one a second, to see the group's
    assert paced("-100123") == 0
    assert 2.9 < paced("-100123") <= 3.04  # 20 in any minute
    assert 5.9 < paced("-100123") <= 6.07  # each step falls on the next bot slot
    assert paced("-100456") == 0  # another group has its own schedule
    assert [paced("777") for _ in range(5)] == [0] * 5  # a private chat has no group limit (slept 10 ms apart)


def test_the_bot_sends_30_messages_a_second_in_all(backend, monkeypatch):
    monkeypatch.setattr(pacing, "EARLY", 0.0)  # every slot ahead is reserved, none slept for
    first = paced("1")
    assert first <= 0.034
    slots = [first + time.monotonic(), *(paced(str(chat)) + time.monotonic() for chat in range(2, 91))]
    assert 0.031 < (slots[-1] - slots[0]) / 89 < 0.035  # a thirtieth of a second apart, a busy machine or not
    assert all(b - a > 0.95 for a, b in zip(slots, slots[30:], strict=False))  # never 31 within a second


def test_other_chats_fill_the_bots_slots_between_one_chats_queued_messages(backend, monkeypatch):
    monkeypatch.setattr(pacing, "EARLY", 0.0)
    first = [paced("42") for _ in range(3)]
    assert [round(w) for w in first] == [0, 1, 2]
    assert paced("43") < 0.1  # not behind 42's backlog


def test_a_message_in_parts_takes_a_bot_slot_for_each_part(backend, monkeypatch):
    monkeypatch.setattr(pacing, "BOT", Limit(10, 1.0))
    monkeypatch.setattr(pacing, "EARLY", 0.0)
    first = paced("7", parts=3)
    assert 0.28 < paced("8") - first < 0.32  # the fourth slot of a tenth of a second


def test_a_message_in_parts_counts_once_for_its_chat(backend):
    assert paced("7", parts=3) == 0
    assert 0.9 < paced("7") <= 1.04  # not 3 s: the parts went back to back as one message


def test_the_schedule_is_in_redis_for_every_worker_to_share(backend):
    if backend != "redis":
        pytest.skip("Redis only")
    from django_redis import get_redis_connection

    pace_telegram("42")
    slots, _, chat, _, _ = (cache.make_key(key) for key in pacing.telegram_keys("42", "t"))
    assert get_redis_connection("default").hlen(slots) == 1
    assert get_redis_connection("default").exists(chat)
    pacing._LOCAL = pacing.LocalSchedule()  # this process forgets: Redis still says no
    assert paced("42") > 0


def test_an_unreachable_redis_falls_back_to_pacing_in_process(backend, monkeypatch):
    if backend != "redis":
        pytest.skip("Redis only")
    from redis.exceptions import ConnectionError

    def unreachable(alias):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr("django_redis.get_redis_connection", unreachable)
    assert paced("42") == 0
    assert 0.9 < paced("42") <= 1.04
