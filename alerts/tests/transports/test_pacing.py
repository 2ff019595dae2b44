"""Telegram's pacing: one message a second per chat, 20 a minute per group, 30 a second for the bot,
kept in Redis (shared by every worker) when REDIS_URL is set and in process memory otherwise."""

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
        monkeypatch.setattr(pacing, "_take_shared", pacing._LOCAL.take)
    settings.TELEGRAM_BOT_TOKEN = f"{secrets.randbelow(10**9)}:pacing-{secrets.token_hex(8)}"
    return request.param


def paced(chat_id: str, **kwargs) -> float:
    """The wait pace_telegram asks for (0 when it takes the send)."""
    try:
        pace_telegram(chat_id, **kwargs)
    except Paced as put_off:
        return put_off.wait
    return 0.0


def test_a_burst_to_one_chat_is_paced_a_second_apart(backend):
    assert paced("42") == 0
    assert 0.9 < paced("42") <= 1.0
    assert 0.9 < paced("42") <= 1.0  # a refused send takes no slot: the wait does not grow


def test_other_chats_are_not_held_by_one_busy_chat(backend):
    assert paced("42") == 0
    assert paced("43") == 0
    assert paced("@alerts_channel") == 0


def test_a_group_gets_20_messages_a_minute(backend, monkeypatch):
    monkeypatch.setattr(pacing, "CHAT", Limit(100, 1.0))  # without the one a second, to reach 20 at once
    assert [paced("-100123") for _ in range(20)] == [0] * 20
    assert 59 < paced("-100123") <= 60
    assert paced("-100456") == 0  # another group has its own minute
    assert [paced("777") for _ in range(5)] == [0] * 5  # a private chat has no minute limit


def test_the_bot_sends_30_messages_a_second_in_all(backend):
    assert [paced(str(chat)) for chat in range(1, 31)] == [0] * 30
    assert 0 < paced("31") <= 1.0


def test_a_window_frees_once_its_period_passed(backend, monkeypatch):
    monkeypatch.setattr(pacing, "BOT", Limit(3, 0.2))
    assert [paced(str(chat)) for chat in range(1, 4)] == [0, 0, 0]
    wait = paced("4")
    assert 0 < wait <= 0.2
    time.sleep(wait)
    assert paced("4") == 0


def test_a_message_in_parts_counts_each_part_for_the_bot_but_once_for_its_chat(backend, monkeypatch):
    monkeypatch.setattr(pacing, "BOT", Limit(4, 1.0))
    assert paced("7", parts=3) == 0
    assert paced("8", parts=2) > 0  # 3 + 2 > 4
    assert paced("8") == 0
    assert 0.9 < paced("7") <= 1.0


def test_the_windows_are_in_redis_for_every_worker_to_share(backend):
    if backend != "redis":
        pytest.skip("Redis only")
    from django_redis import get_redis_connection

    pace_telegram("42")
    keys = [cache.make_key(key) for key, _ in pacing.telegram_windows("42")]
    assert [get_redis_connection("default").zcard(key) for key in keys] == [1, 1]
    pacing._LOCAL = pacing.LocalWindows()  # this process forgets: Redis still says no
    assert paced("42") > 0


def test_an_unreachable_redis_falls_back_to_pacing_in_process(backend, monkeypatch):
    if backend != "redis":
        pytest.skip("Redis only")
    from redis.exceptions import ConnectionError

    def unreachable(alias):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr("django_redis.get_redis_connection", unreachable)
    assert paced("42") == 0
    assert 0.9 < paced("42") <= 1.0
