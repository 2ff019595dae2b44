"""API conventions shared by every app: one application error, errors as JSON that name the field
(500s included, with the request id), JSON bodies of bounded depth, bounded pagination, fast JSON
rendering."""

from __future__ import annotations

import re

import numpy as np
import orjson
from django.http import HttpRequest, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure
from rest_framework import exceptions, throttling
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


class ApplicationError(Exception):
    """An error the application means to tell the client about (HackSoft's styleguide): a message,
    an HTTP status, optional fields merged into the body and optional headers (``Retry-After``)."""

    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None, extra: dict | None = None, headers=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code or self.status_code
        self.extra = extra or {}
        self.headers = headers or {}


def exception_handler(exc, context):
    """DRF's handler, plus ApplicationError. Anything else (a bug) is re-raised by DRF, logged by
    Django with the request id and answered by ``server_error`` below."""
    # Imported here: rest_framework.views reads the renderer setting, which names this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, **exc.extra}, status=exc.status_code, headers=exc.headers)
    return drf_exception_handler(exc, context)


# --- Errors outside DRF views: JSON under /api/, the regular pages elsewhere ---------------------


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_error(request: HttpRequest, status: int, detail: str) -> JsonResponse:
    """The body every API error has when no view shaped it: what happened and the request id."""
    return JsonResponse({"detail": detail, "request_id": getattr(request, "request_id", None)}, status=status)


def server_error(request: HttpRequest):
    """500: the traceback is in the log line that carries the same request id."""
    if is_api(request):
        return api_error(request, 500, "Internal server error. Quote the request_id when you report it.")
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception=None):
    if is_api(request):
        reason = str(exception or "").rstrip(".") or "the request could not be read"
        return api_error(request, 400, f"Bad request: {reason}.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception=None):
    if is_api(request):
        return api_error(request, 403, str(exception or "") or "You do not have permission to do this.")
    return defaults.permission_denied(request, exception)


def not_found(request: HttpRequest, exception=None):
    """404 for a URL under /api/ that names no endpoint (scalpaiboard.views.page_not_found asks)."""
    return api_error(request, 404, f"No API endpoint at {request.path}. See /api/docs/.")


def csrf_failure(request: HttpRequest, reason: str = ""):
    """A form post without a valid CSRF token; API clients authenticate with a JWT instead."""
    if is_api(request):
        return api_error(request, 403, f"CSRF check failed ({reason}). API clients send a JWT bearer token.")
    return django_csrf_failure(request, reason)


# --- Request bodies --------------------------------------------------------------------------------

MAX_JSON_DEPTH = 32
# A JSON string, escapes included (the unrolled form: no backtracking on long strings).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in a JSON text, found without parsing it: strings are cut
    out and the brackets left are counted (both at C speed), so no parser recursion can blow."""
    brackets = np.frombuffer(_NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw)), dtype=np.uint8)
    if brackets.size == 0:
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


class BoundedJSONParser(JSONParser):
    """JSON bodies parsed by orjson, refused with a 400 when nested deeper than MAX_JSON_DEPTH
    (Python's json recursed until RecursionError, a 500, at about 1,000 levels)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        charset = (parser_context or {}).get("encoding") or "utf-8"
        if charset.lower().replace("-", "") != "utf8":
            raw = raw.decode(charset, errors="replace").encode()
        depth = json_depth(raw)
        if depth > MAX_JSON_DEPTH:
            raise exceptions.ParseError(
                f"Request body: JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH} levels "
                "of arrays and objects are allowed."
            )
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise exceptions.ParseError(f"Request body: not valid JSON ({error}).") from None


# --- Throttles --------------------------------------------------------------------------------------


class DescribedThrottle(throttling.SimpleRateThrottle):
    """A throttle whose 429 says what the limit is and whom it counts (DRF adds the wait, and
    the Retry-After header)."""

    counts = ""

    def throttle_failure(self) -> bool:
        wait = self.wait()
        limit = f"at most {self.num_requests} requests a {_duration_name(self.duration)} {self.counts}"
        raise exceptions.Throttled(wait=wait, detail=f"Too many requests: {limit}.")


def _duration_name(seconds: int) -> str:
    return {1: "second", 60: "minute", 3600: "hour", 86400: "day"}.get(seconds, f"{seconds} s")


class AnonRateThrottle(DescribedThrottle, throttling.AnonRateThrottle):
    counts = "from one address without a log-in (RATE_LIMIT_RPM)"


class UserRateThrottle(DescribedThrottle, throttling.UserRateThrottle):
    counts = "per user (RATE_LIMIT_RPM)"


class ScopedRateThrottle(DescribedThrottle, throttling.ScopedRateThrottle):
    """Stricter limits where a view names a ``throttle_scope`` (login, ai_chat)."""

    @property
    def counts(self) -> str:
        return f"to {self.scope} endpoints per user or address (RATE_LIMIT_{self.scope.upper()}_RPM)"


# --- Pagination and rendering ----------------------------------------------------------------------


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset where a limit outside 1..max_limit is an error (400), not silently replaced."""

    default_limit = 50
    max_limit = 500
    max_offset = 10**9

    def get_limit(self, request) -> int:
        return self._bounded(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request) -> int:
        return self._bounded(request, self.offset_query_param, 0, 0, self.max_offset)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        """DRF's limit and offset parameters, with the bounds above."""
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit, "default": self.default_limit},
            self.offset_query_param: {"minimum": 0, "maximum": self.max_offset, "default": 0},
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"].update(bounds[parameter["name"]])
        return parameters

    @staticmethod
    def _bounded(request, name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise exceptions.ValidationError({name: [f"Must be a whole number from {low} to {high}."]})
        return value


class ORJSONRenderer(JSONRenderer):
    """JSONRenderer on orjson: several times faster for long lists of numbers (candles)."""

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS)
