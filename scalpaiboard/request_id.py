"""A request id for every HTTP request: in the ``X-Request-ID`` response header, in every log line
written while the request is answered, and in the body of API errors.

nginx sends its own ``$request_id``; a sane incoming id is kept so that the proxy's access log and
ours can be joined, anything else is replaced by a fresh one.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# Ids from nginx ($request_id: 32 hex digits) or from clients' tracing tools; nothing that could
# forge a log line (no spaces, quotes or line breaks) and nothing long.
SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")

current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")


def request_id_for(request: HttpRequest) -> str:
    """The incoming id when it is sane, else a new random one."""
    incoming = request.headers.get(HEADER, "")
    return incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Give the request an id (``request.request_id``), log under it and return it as a header.

    Sync-only, like the metrics middleware, so that the chain stays in one thread under ASGI.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = request_id_for(request)
        token = current_request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request.request_id
        return response


class RequestIdFilter(logging.Filter):
    """Put ``request_id`` on every record: the request's (Django passes it as ``extra``) or the one
    being answered in this context, "-" outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or current_request_id.get()
        return True
