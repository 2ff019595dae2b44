# ruff: noqa: F811  (the trader fixture is imported from engine_helpers)
"""The engine fed by the market events in the server process (embedded mode): in order, off the loop."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connections

from alerts.models import AlertEvent
from alerts.notifications import notifications_group
from alerts.tests.engine_helpers import T0, alert_make, prices, trader  # noqa: F401 (fixtures)
from markets.events import market_events


@pytest.fixture
def embedded(settings):
    """The engine on, evaluating in this process (tasks run eagerly), with a fresh engine."""
    import alerts.engine_runner as runner

    settings.ALERTS_ENGINE_ENABLED = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    runner._engine = None
    yield
    runner._engine = None
    runner.runner.executor.submit(connections.close_all).result()  # the engine thread's connection


@pytest.mark.django_db(transaction=True)
async def test_a_published_price_batch_fires_and_notifies_without_blocking_the_loop(embedded, coins, trader):
    condition = {"kind": "crossing_up", "level": 100}
    alert = await sync_to_async(alert_make)(trader, coins["BTC"], condition, frequency="every_time", cooldown=0)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(notifications_group(trader.pk), channel)
    started = time.perf_counter()
    await market_events.publish(prices(("BTC", 99, 101, T0 + 1)))
    await market_events.publish(prices(("BTC", 101, 99, T0 + 2), ("BTC", 99, 102, T0 + 3)))
    published = time.perf_counter() - started
    first = await asyncio.wait_for(layer.receive(channel), timeout=30)
    second = await asyncio.wait_for(layer.receive(channel), timeout=30)
    assert [first["notification"]["price"], second["notification"]["price"]] == [101, 102]
    assert await AlertEvent.objects.filter(alert=alert).acount() == 2
    assert published < 0.5  # the listener only queues: evaluating and storing happen off the loop


@pytest.mark.django_db(transaction=True)
async def test_the_engine_ignores_market_events_when_turned_off(settings, coins, trader):
    settings.ALERTS_ENGINE_ENABLED = False
    alert = await sync_to_async(alert_make)(trader, coins["BTC"], {"kind": "crossing_up", "level": 100})
    await market_events.publish(prices(("BTC", 99, 101, T0 + 1)))
    await asyncio.sleep(0.5)
    assert not await AlertEvent.objects.filter(alert=alert).aexists()
