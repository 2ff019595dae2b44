"""Binance's REST API: a blocking client whose every request passes one weight governor.

Binance limits request weight per IP and window (``rateLimits`` in exchangeInfo, 6,000 a minute
today) and reports the weight used so far in ``X-MBX-USED-WEIGHT-<n><unit>`` headers. The
governor reserves each request's weight before it is sent, takes the headers as the truth (other
processes share the IP), holds requests back when the window's budget is spent, and stops every
request for ``Retry-After`` seconds after a 429 or 418: in the process, and, through a shared
pause (the cache), in every process of the deployment.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

logger = logging.getLogger(__name__)

INTERVAL_SECONDS = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}
# What Binance documents until exchangeInfo says otherwise.
DEFAULT_LIMITS = (
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
)
HEADROOM = 0.9  # the share of each limit this process plans to use: the rest absorbs what it cannot see
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)  # the values every version of the API accepts


def depth_weight(limit: int) -> int:
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


RETRY_AFTER_DEFAULT = 60.0  # seconds, when a 429 or 418 comes without a usable Retry-After


class BinanceError(Exception):
    """Binance refused a request: ``status`` is the HTTP status, ``code`` Binance's error code."""

    def __init__(self, status: int, code: int | None, message: str):
        super().__init__(f"Binance answered {status} ({code}): {message}")
        self.status, self.code, self.message = status, code, message


class BinanceUnavailable(Exception):
    """Binance could not be reached or kept failing (network errors, 5xx) after the retries."""


class Throttled(BinanceUnavailable):
    """A request would have to wait longer than its caller allows (rate limit or Retry-After pause)."""

    def __init__(self, wait: float):
        super().__init__(f"Binance rate limit: retry in {math.ceil(wait)} s")
        self.wait = wait


class SharedPause(Protocol):
    """Where processes that share an IP tell each other that Binance asked them all to wait."""

    def until(self) -> float:
        """The end of the pause (epoch seconds), 0 when there is none."""

    def extend(self, until: float) -> None:
        """Make the pause last at least until ``until``."""


@dataclass
class WeightWindow:
    """One rate limit: ``limit`` units per ``seconds``-long window aligned to the clock, as Binance counts."""

    limit: int
    seconds: int
    header: str | None  # the response header reporting the IP's usage; None for request counts
    per_request: bool = False  # counts requests (RAW_REQUESTS), not weight
    used: int = 0
    start: float = 0.0

    @property
    def budget(self) -> int:
        return max(1, int(self.limit * HEADROOM))

    def roll(self, now: float) -> None:
        if now >= self.start + self.seconds:
            self.start, self.used = now - now % self.seconds, 0

    def cost(self, weight: int) -> int:
        return 1 if self.per_request else weight

    def wait_for(self, weight: int, now: float) -> float:
        """Seconds until ``weight`` fits in the budget (0: now). A lone request always fits an empty window."""
        self.roll(now)
        if self.used == 0 or self.used + self.cost(weight) <= self.budget:
            return 0.0
        return self.start + self.seconds - now + 0.01


def weight_windows(rate_limits: list[dict]) -> list[WeightWindow]:
    """The windows of exchangeInfo's ``rateLimits`` that apply to market-data requests."""
    windows = []
    for limit in rate_limits:
        kind, interval = limit.get("rateLimitType"), limit.get("interval")
        if kind not in ("REQUEST_WEIGHT", "RAW_REQUESTS") or interval not in INTERVAL_SECONDS:
            continue
        number = int(limit.get("intervalNum", 1))
        header = f"x-mbx-used-weight-{number}{interval[0].lower()}" if kind == "REQUEST_WEIGHT" else None
        windows.append(
            WeightWindow(int(limit["limit"]), number * INTERVAL_SECONDS[interval], header, kind == "RAW_REQUESTS")
        )
    return windows


class WeightGovernor:
    """Paces requests under every window's budget; a Retry-After pause holds back every request."""

    def __init__(self, *, clock: Callable[[], float] = time.time, shared_pause: SharedPause | None = None):
        self.clock = clock
        self.shared_pause = shared_pause
        self.windows = weight_windows(list(DEFAULT_LIMITS))
        self.paused_until = 0.0
        self._last_headers: tuple[Mapping[str, str], float] = ({}, 0.0)
        self._condition = threading.Condition()

    def limits_set(self, rate_limits: list[dict]) -> None:
        """Adopt the limits exchangeInfo announced, keeping what this window has used."""
        windows = weight_windows(rate_limits)
        if not windows:
            return
        with self._condition:
            used = {(w.seconds, w.per_request): (w.used, w.start) for w in self.windows}
            for window in windows:
                window.used, window.start = used.get((window.seconds, window.per_request), (0, 0.0))
            self.windows = windows
            self._observe(*self._last_headers)  # the usage the announcing response reported
            self._condition.notify_all()

    def acquire(self, weight: int, *, max_wait: float | None = None) -> float:
        """Block until ``weight`` may be sent, reserve it and return the send time; raise Throttled
        rather than wait longer than ``max_wait`` seconds."""
        with self._condition:
            while True:
                now = self.clock()
                wait = max(self.paused_until, self._shared_until()) - now
                if wait <= 0:
                    wait = max(w.wait_for(weight, now) for w in self.windows)
                    if wait <= 0:
                        for window in self.windows:
                            window.used += window.cost(weight)
                        return now
                if max_wait is not None and wait > max_wait:
                    raise Throttled(wait)
                self._condition.wait(timeout=wait)

    def observe(self, headers: Mapping[str, str], sent_at: float) -> None:
        """Take the IP's usage from a response's headers, if the request was sent in the current window."""
        with self._condition:
            self._last_headers = (headers, sent_at)
            self._observe(headers, sent_at)

    def _observe(self, headers: Mapping[str, str], sent_at: float) -> None:
        now = self.clock()
        for window in self.windows:
            value = headers.get(window.header) if window.header else None
            window.roll(now)
            if value is not None and value.isdigit() and sent_at >= window.start:
                window.used = max(window.used, int(value))

    def pause(self, seconds: float) -> None:
        """Stop every request for ``seconds`` (Retry-After of a 429 or 418), here and in the other processes."""
        with self._condition:
            self.paused_until = max(self.paused_until, self.clock() + seconds)
            if self.shared_pause is not None:
                try:
                    self.shared_pause.extend(self.paused_until)
                except Exception:  # the shared store is a courtesy to other processes; this one is paused
                    logger.warning("Could not share the Binance pause with other processes", exc_info=True)
            self._condition.notify_all()

    def _shared_until(self) -> float:
        if self.shared_pause is None:
            return 0.0
        try:
            return self.shared_pause.until()
        except Exception:
            return 0.0

    def used(self) -> dict[str, int]:
        """Weight used per window as this process knows it, e.g. {"1m": 1234}."""
        with self._condition:
            return {_window_name(w): w.used for w in self.windows}


def _window_name(window: WeightWindow) -> str:
    kind = "requests" if window.per_request else "weight"
    return f"{kind}/{window.seconds}s"


class BinanceRest:
    """GET requests to Binance's public REST API, paced by a governor and retried on transient failures."""

    def __init__(
        self,
        *,
        base_url: str,
        governor: WeightGovernor | None = None,
        retries: int = 4,
        timeout: float = 10.0,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.governor = governor or WeightGovernor()
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"Accept": "application/json"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: dict | None = None, *, weight: int, max_wait: float | None = None) -> Any:
        """The decoded JSON of ``GET path``; retries 5xx and network errors, waits out 429/418.

        ``max_wait`` bounds the seconds spent waiting for the rate limit (None: as long as it takes).
        Raises BinanceError for a refused request (4xx), BinanceUnavailable when retries run out.
        """
        failure = "no attempt"
        for attempt in range(self.retries + 1):
            sent = self.governor.acquire(weight, max_wait=max_wait)
            try:
                response = self.http.get(path, params=params)
            except httpx.TransportError as error:
                failure = f"{type(error).__name__}: {error}"
            else:
                self.governor.observe(response.headers, sent)
                if response.status_code < 400:
                    return orjson.loads(response.content)
                if response.status_code in (418, 429):
                    self._back_off(response, max_wait)
                    failure = f"HTTP {response.status_code}"
                    continue
                if response.status_code < 500:
                    raise _refusal(response)
                failure = f"HTTP {response.status_code}"
            if attempt < self.retries:
                delay = self.backoff * 2**attempt * random.uniform(0.5, 1.0)
                logger.warning("Binance GET %s failed (%s); retrying in %.1f s", path, failure, delay)
                self.sleep(delay)
        raise BinanceUnavailable(f"Binance GET {path} failed {self.retries + 1} times; last: {failure}")

    def _back_off(self, response: httpx.Response, max_wait: float | None) -> None:
        """Pause every request for the response's Retry-After, as Binance asks after a 429 or 418."""
        seconds = _retry_after(response.headers.get("Retry-After"))
        self.governor.pause(seconds)
        logger.warning(
            "Binance answered %s to %s: all requests paused for %.0f s",
            response.status_code,
            response.request.url.path,
            seconds,
        )
        if max_wait is not None and seconds > max_wait:
            raise Throttled(seconds)

    # --- endpoints (weights as documented in Binance's rest-api.md) ---

    def server_time(self) -> int:
        """Binance's clock, epoch milliseconds."""
        return int(self.get("/api/v3/time", weight=1)["serverTime"])

    def exchange_info(self) -> dict:
        """Symbols being traded and the rate limits, which the governor adopts."""
        info = self.get("/api/v3/exchangeInfo", {"symbolStatus": "TRADING", "showPermissionSets": "false"}, weight=20)
        self.governor.limits_set(info.get("rateLimits") or [])
        return info

    def tickers_24h(self) -> list[dict]:
        """Every symbol's rolling 24h statistics (MINI: no order book fields)."""
        return self.get("/api/v3/ticker/24hr", {"type": "MINI"}, weight=80)

    def klines(self, pair: str, interval: str, *, start_ms: int | None, end_ms: int, limit: int = 1000) -> list[list]:
        """Up to ``limit`` klines opening in [start_ms, end_ms] (the latest ones when start_ms is None)."""
        params = {"symbol": pair, "interval": interval, "endTime": end_ms, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        return self.get("/api/v3/klines", params, weight=2)

    def depth(self, pair: str, limit: int, *, max_wait: float | None = None) -> dict:
        """The order book, at least ``limit`` levels a side."""
        limit = next((n for n in DEPTH_LIMITS if n >= limit), DEPTH_LIMITS[-1])
        return self.get(
            "/api/v3/depth", {"symbol": pair, "limit": limit}, weight=depth_weight(limit), max_wait=max_wait
        )

    def trades(self, pair: str, limit: int, *, max_wait: float | None = None) -> list[dict]:
        """The latest trades, oldest first (as Binance sends them)."""
        return self.get("/api/v3/trades", {"symbol": pair, "limit": limit}, weight=25, max_wait=max_wait)


def _retry_after(value: str | None) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return RETRY_AFTER_DEFAULT
    return seconds if 0 <= seconds < math.inf else RETRY_AFTER_DEFAULT


def _refusal(response: httpx.Response) -> BinanceError:
    try:
        body = orjson.loads(response.content)
        return BinanceError(response.status_code, body.get("code"), str(body.get("msg", "")))
    except (orjson.JSONDecodeError, AttributeError):
        return BinanceError(response.status_code, None, response.text[:200])
