"""Prometheus metrics of this process at /metrics: requests, WebSocket connections, feed age."""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter("scalpaiboard_http_requests_total", "HTTP requests answered", ["view", "status"])
LATENCY = Histogram(
    "scalpaiboard_http_request_seconds",
    "Time to answer HTTP requests",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
# Set to read markets.socket_limits.OPEN_SOCKETS, which every /ws consumer releases however it ends.
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
    """The Prometheus exposition, for signed-in staff and for scrapers at METRICS_ALLOWED_IPS."""
    if not (request.user.is_staff or operator_address(request)):
        return HttpResponseForbidden(
            "Metrics are served to staff and to the addresses in METRICS_ALLOWED_IPS only.\n",
            content_type="text/plain",
        )
    from markets.snapshot import heartbeat_get

    beat = heartbeat_get()
    FEED_AGE.set(time.time() - beat["received"] if beat else float("nan"))
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def operator_address(request: HttpRequest) -> bool:
    """Whether the client's address (behind nginx: the real client's, daphne runs with --proxy-headers)
    falls in one of METRICS_ALLOWED_IPS' addresses or networks: the operators' monitoring."""
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(client in network for network in settings.METRICS_ALLOWED_IPS)
