"""GET /api/health: each component's state; 503 when one is down or the market data is stale or delayed.

While the feed starts (it started within FEED_START_GRACE_SECONDS and has not written since), its
state is "starting": still a 503, so that a load balancer waits, but logged as INFO, not as the
ERROR Django logs for every other 5xx.
"""

from __future__ import annotations

import inspect
import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.log import log_response

from markets import snapshot
from markets.selectors import feed_status, market_data_origin

# A feed back-fills the candles it missed and loads its recent bars before its first tick.
FEED_START_GRACE_SECONDS = 60.0


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
    """The feed's freshness: "stale" when it stopped writing, "delayed" when the exchange's data lags,
    "starting" when it started a moment ago and has not written since; the source it streams, and the
    one the stored data came from."""
    status = {**feed_status(), "source": settings.MARKET_SOURCE, "stored_data": market_data_origin()}
    started, now = snapshot.feed_started_get(), time.time()
    if status["status"] == "ok" or not feed_starting(started=started, beat=snapshot.heartbeat_get(), now=now):
        return status
    status.pop("error", None)  # "no tick received yet" is what starting means
    return {**status, "status": "starting", "seconds_since_start": round(now - started, 1)}


def feed_starting(*, started: float | None, beat: dict | None, now: float) -> bool:
    """True within the grace period after a feed started, until its first write after that start."""
    if started is None or now - started > FEED_START_GRACE_SECONDS:
        return False
    return beat is None or beat["received"] < started


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
    states = {c["status"] for c in components.values()}
    overall = "ok" if states == {"ok"} else "starting" if states <= {"ok", "starting"} else "degraded"
    response = JsonResponse({"status": overall, "components": components}, status=200 if overall == "ok" else 503)
    if overall == "starting":
        # Expected at every start: logged here at INFO, which keeps Django from logging it as an ERROR.
        log_response(
            "Starting (the market feed has not written yet): %s",
            request.path,
            response=response,
            request=request,
            level="info",
        )
    return response


def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Also the minimal JSON view the API benchmark compares with."""
    return JsonResponse({"status": "ok"})
