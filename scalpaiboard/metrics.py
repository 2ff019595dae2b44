"""Prometheus metrics of this process at /metrics: requests, WebSocket connections, feed age."""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter("scalpaiboard_http_requests_total", "HTTP requests answered", ["view", "status"])
LATENCY = Histogram(
    "scalpaiboard_http_request_seconds",
    "Time to answer HTTP requests",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
WEBSOCKETS = Gauge("scalpaiboard_websocket_connections", "Open /ws connections in this process")
FEED_AGE = Gauge("scalpaiboard_feed_age_seconds", "Seconds since the market feed last stored a tick")


class RequestMetricsMiddleware:
    """Count and time every request that reaches a view, by the view's URL name."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match else "unmatched"
        LATENCY.labels(view).observe(time.perf_counter() - started)
        REQUESTS.labels(view, str(response.status_code)).inc()
        return response


def metrics(request: HttpRequest) -> HttpResponse:
    from markets.snapshot import heartbeat_get

    beat = heartbeat_get()
    FEED_AGE.set(time.time() - beat["received"] if beat else float("nan"))
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
