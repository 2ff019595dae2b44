"""Fixtures shared by every test: a clean cache and channel layer per test, and small markets."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.core.cache import cache

from markets.sources.base import CoinProfile


@pytest.fixture(autouse=True)
def _clean_cache_and_layers():
    """Each test starts with an empty cache (this worker's keys only) and fresh channel layers."""
    _clear_cache()
    channel_layers.backends.clear()
    yield
    _clear_cache()
    channel_layers.backends.clear()


def _clear_cache() -> None:
    if settings.REDIS_URL:
        cache.delete_pattern("*")  # this worker's prefix; FLUSHDB would wipe other workers' keys
    else:
        cache.clear()
    _clear_chat_relay()


def _clear_chat_relay() -> None:
    """The assistant's answers' event logs (assistant.relay): ids come back after a test's rollback."""
    from assistant import relay

    relay._logs.clear()
    if settings.REDIS_URL:
        client = relay._redis()
        keys = list(client.scan_iter(f"{settings.REDIS_PREFIX}:chat:*"))
        if keys:
            client.delete(*keys)


# Five coins with fixed, distinct figures, so that filters and orderings have known answers.
TEST_PROFILES = [
    CoinProfile("BTC", "Bitcoin", 1, 90000.0, 2.0e9, 19_900_000, 0.025, 1.0),
    CoinProfile("ETH", "Ethereum", 2, 3000.0, 1.0e9, 120_000_000, 0.035, 1.1),
    CoinProfile("SOL", "Solana", 3, 140.0, 4.0e8, 540_000_000, 0.05, 1.3),
    CoinProfile("DOGE", "Dogecoin", 4, 0.15, 1.5e8, 150_000_000_000, 0.07, 1.5),
    CoinProfile("PEPE", "Pepe", 5, 0.0000095, 9.0e7, None, 0.10, 1.7),
]


@pytest.fixture
def coins(db):
    """The five test coins, with 24h changes -4..+4 % so that filters split them."""
    from markets.models import Coin
    from markets.services import coins_seed

    coins_seed(profiles=TEST_PROFILES)
    for change, coin in zip([2.0, -4.0, 4.0, -1.0, 0.5], Coin.objects.order_by("rank"), strict=True):
        coin.change_24h = change
        coin.save(update_fields=["change_24h"])
    return {c.symbol: c for c in Coin.objects.all()}


@pytest.fixture(autouse=True)
def _alert_engine_off(settings):
    """The feed's market events reach no alert engine unless a test turns it on: the engine's thread
    would reach the test database from outside the test's transaction."""
    settings.ALERTS_ENGINE_ENABLED = False
