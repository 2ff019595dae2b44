"""GET /api/health: each component's state; 503 when one is down or the market data is stale or delayed."""

from __future__ import annotations

import inspect

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from markets.selectors import feed_status, market_data_origin


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok", "engine": connection.vendor}


def check_cache() -> dict:
    cache.set("health:probe", 1, timeout=10)
    if cache.get("health:probe") != 1:
        raise RuntimeError("value written was not read back")
    return {"status": "ok", "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


async def check_channel_layer() -> dict:
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    if not settings.REDIS_URL:
        return {"status": "ok", "backend": backend}
    import redis.asyncio as redis

    client = redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    finally:
        await client.aclose()
    return {"status": "ok", "backend": backend}


def check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "ok", "mode": "in-process"}
    from scalpaiboard.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"status": "ok", "transport": conn.transport_cls}


def check_feed() -> dict:
    """The feed's freshness: "stale" when it stopped writing, "delayed" when the exchange's data lags;
    the source it streams, and the one the stored data came from."""
    return {**feed_status(), "source": settings.MARKET_SOURCE, "stored_data": market_data_origin()}


async def _run(check) -> dict:
    try:
        if inspect.iscoroutinefunction(check):
            return await check()
        return await sync_to_async(check)()
    except Exception as error:  # a health check reports failures instead of raising them
        return {"status": "down", "error": f"{type(error).__name__}: {error}"}


async def health(request: HttpRequest) -> JsonResponse:
    components = {
        "database": await _run(check_database),
        "cache": await _run(check_cache),
        "channel_layer": await _run(check_channel_layer),
        "broker": await _run(check_broker),
        "feed": await _run(check_feed),
    }
    healthy = all(c["status"] == "ok" for c in components.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "components": components}, status=200 if healthy else 503
    )


def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Also the minimal JSON view the API benchmark compares with."""
    return JsonResponse({"status": "ok"})
