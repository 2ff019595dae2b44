"""GET /api/health: each component's state, and the site's: "ok", "starting", "degraded" or "down".

"starting" (HTTP 503, so that a load balancer waits) while the feed starts: it started within
FEED_START_GRACE_SECONDS and has not written since; logged as INFO, not as the ERROR Django logs
for every other 5xx. "degraded" (HTTP 200) when the site serves, but not all of it: the cache or
channel layer is down (Redis unreachable: pages and API answer from the database, /ws refuses new
sockets), the broker is down (background work waits), or the market data is stale or delayed. It
is a 200 because a load balancer should keep sending traffic then: every server process shares
these components, so taking processes out of rotation would turn a partial outage into a full
one. "down" (HTTP 503) when the database is unreachable, without which nothing can be served.
Each component's details are shown to operators only (staff, METRICS_ALLOWED_IPS).
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
from scalpaiboard.cache import cache_outage, cache_unreachable
from scalpaiboard.metrics import operator_address

# A feed back-fills the candles it missed and loads its recent bars before its first tick.
FEED_START_GRACE_SECONDS = 60.0
HTTP_STATUS = {"ok": 200, "degraded": 200, "starting": 503, "down": 503}  # see above


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"status": "ok", "engine": connection.vendor}


def check_cache() -> dict:
    cache.set("health:probe", 1, timeout=10)
    if cache.get("health:probe") != 1:
        # The cache answers as an empty one while Redis is unreachable: say that, not just the symptom.
        outage = cache_outage()
        raise RuntimeError(f"Redis {outage.describe()}" if cache_unreachable() else "value written was not read back")
    return {"status": "ok", "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


async def check_channel_layer() -> dict:
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
    if not settings.REDIS_URL:
        return {"status": "ok", "backend": backend}
    import redis.asyncio as redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: a refused connection is an answer (redis-py would retry for about two seconds).
    client = redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 0))
    try:
        await client.ping()
    finally:
        await client.aclose()
    return {"status": "ok", "backend": backend}


def check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "ok", "mode": "in-process"}
    from scalpaiboard.celery import app

    # Socket timeouts for a Redis broker: one that hangs held this check (and /api/health) for ever.
    redis_broker = settings.CELERY_BROKER_URL.startswith("redis")  # redis: or rediss:
    options = {"socket_timeout": 2, "socket_connect_timeout": 2} if redis_broker else {}
    with app.connection_for_write(transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)  # no 2 s pause before the retry
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
    overall = site_status(components)
    body = {"status": overall}
    if await _shows_details(request):
        body["components"] = components
    response = JsonResponse(body, status=HTTP_STATUS[overall])
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


async def _shows_details(request: HttpRequest) -> bool:
    """Components (hosts, ports, error texts) are for operators: signed-in staff and the addresses in
    METRICS_ALLOWED_IPS (loopback by default); everyone else is told the site's state alone."""
    if operator_address(request):
        return True
    user = await request.auser()
    return user.is_staff


def site_status(components: dict[str, dict]) -> str:
    """The site's state: "down" without the database; "ok" when every component is; "starting"
    while the feed starts and the rest is ok; "degraded" otherwise."""
    states = {c["status"] for c in components.values()}
    if components["database"]["status"] != "ok":
        return "down"
    return "ok" if states == {"ok"} else "starting" if states <= {"ok", "starting"} else "degraded"


def live(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Also the minimal JSON view the API benchmark compares with."""
    return JsonResponse({"status": "ok"})
