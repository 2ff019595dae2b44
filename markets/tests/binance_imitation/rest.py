"""The imitation's REST API: Binance Spot's market-data endpoints, request weights and their limits.

The /api/v3 paths and parameters the project uses (ping, time, exchangeInfo, ticker/24hr, klines,
depth, trades), JSON with numbers as strings and klines as arrays in Binance's field order,
request weights counted per window and reported in ``X-MBX-USED-WEIGHT-<n><unit>``, 429 with
Retry-After past the limit and a 418 ban for a client that keeps going regardless; errors as
Binance words them (-1121 "Invalid symbol.", -1003 for the limits).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import orjson
from aiohttp import web

from markets.tests.binance_imitation.market import (
    CLOSE,
    HIGH,
    LEVELS,
    LOW,
    OPEN,
    VOLUME,
    ImitatedSymbol,
    decimal,
)

WEIGHT_INTERVALS = {"S": ("SECOND", 1), "M": ("MINUTE", 60), "H": ("HOUR", 3600), "D": ("DAY", 86400)}


@dataclass
class RequestRecord:
    at: float  # wall clock
    path: str
    params: dict
    status: int = 200
    weight: int = 0


class RestApi:
    """The REST half of BinanceImitation (which holds the market, the clock and the switches)."""

    def rest(self, handler):
        async def endpoint(request: web.Request) -> web.Response:
            record = RequestRecord(time.time(), request.path, dict(request.query))
            self.requests.append(record)
            try:
                weight, body = handler(request)
            except ApiError as error:
                weight, record.status = error.weight, error.status
                return self.counted(record, weight, error.status, {"code": error.code, "msg": error.msg})
            refusal = self.refusal(record, weight)
            if refusal is not None:
                return refusal
            return self.counted(record, weight, 200, body)

        return endpoint

    def refusal(self, record: RequestRecord, weight: int) -> web.Response | None:
        """A forced, failed, banned or over-the-limit answer; None to serve the request."""
        now = time.time()
        if self.forced:
            status, retry_after = self.forced.pop(0)
            return self.limited(record, status, retry_after, weight)
        if now < self._banned_until:
            return self.limited(record, 418, self._banned_until - now, weight)
        if self.rest_failure_rate and self._rng.random() < self.rest_failure_rate:
            record.status = 503
            return web.Response(status=503, text="Service Unavailable")
        window = int(now // self.weight_window)
        if self.weight_by_window.get(window, 0) + weight > self.weight_limit:
            if now < self._throttled_until:  # the client is not waiting out the last 429
                self._ignored_429s += 1
                if self._ignored_429s > self.ban_after:
                    self._banned_until = now + self.ban_seconds
                    return self.limited(record, 418, self.ban_seconds, weight)
                return self.limited(record, 429, self._throttled_until - now, weight)
            self._throttled_until, self._ignored_429s = (window + 1) * self.weight_window, 0
            return self.limited(record, 429, self._throttled_until - now, weight)
        return None

    def limited(self, record: RequestRecord, status: int, retry_after: float, weight: int) -> web.Response:
        record.status = status
        if status == 429:
            message = (
                f"Too much request weight used; current limit is {self.weight_limit} request weight per "
                f"{self.weight_interval}. Please use WebSocket Streams for live updates to avoid polling the API."
            )
        else:
            message = (
                f"Way too much request weight used; IP banned until {int((time.time() + retry_after) * 1000)}. "
                "Please use WebSocket Streams for live updates to avoid bans."
            )
        response = self.counted(record, weight, status, {"code": -1003, "msg": message})
        response.headers["Retry-After"] = str(math.ceil(retry_after))
        return response

    def counted(self, record: RequestRecord, weight: int, status: int, body) -> web.Response:
        window = int(time.time() // self.weight_window)
        used = self.weight_by_window[window] = self.weight_by_window.get(window, 0) + weight
        record.weight = weight
        record.status = status
        headers = {self.weight_header: str(used), "X-MBX-USED-WEIGHT": str(used)}
        return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)

    async def stats(self, request: web.Request) -> web.Response:
        """What the imitation saw: every request (wall time, path, weight, status) and each connection."""
        body = {
            "weight_limit": self.weight_limit,
            "weight_window": self.weight_window,
            "requests": [[r.at, r.path, r.weight, r.status] for r in self.requests],
            "connections": [[len(c.streams), c.messages_sent, c.opened, c.closed] for c in self.connections],
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    def ping(self, request: web.Request):
        return 1, {}

    def time(self, request: web.Request):
        return 1, {"serverTime": int(self.now() * 1000)}

    def exchange_info(self, request: web.Request):
        status = request.query.get("symbolStatus")
        symbols = [s for s in self.symbols.values() if status is None or s.status == status]
        interval, number = WEIGHT_INTERVALS[self.weight_interval[-1]][0], int(self.weight_interval[:-1])
        weight = {"rateLimitType": "REQUEST_WEIGHT", "interval": interval, "intervalNum": number}
        return 20, {
            "timezone": "UTC",
            "serverTime": int(self.now() * 1000),
            "rateLimits": [
                {**weight, "limit": self.weight_limit},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": [symbol_info(s) for s in symbols],
        }

    def ticker_24hr(self, request: web.Request):
        if "symbol" in request.query:
            return 2, self.ticker(self.symbol(request))
        listed = [s for s in self.symbols.values() if s.status == "TRADING"]
        return 80, [self.ticker(s) for s in listed]

    def ticker(self, symbol: ImitatedSymbol) -> dict:
        now = self.now()
        p = symbol.price_decimals
        price, opened, high, low = self.rolling_24h(symbol.pair, now)
        quote = symbol.quote_volume
        return {
            "symbol": symbol.pair,
            "openPrice": decimal(opened, p),
            "highPrice": decimal(high, p),
            "lowPrice": decimal(low, p),
            "lastPrice": decimal(price, p),
            "volume": f"{quote / (price / 10**p):.8f}",
            "quoteVolume": f"{quote:.8f}",
            "openTime": int((now - 86400) * 1000),
            "closeTime": int(now * 1000),
            "firstId": 1,
            "lastId": 1 + int(now) % 100000,
            "count": 1 + int(now) % 100000,
        }

    def rolling_24h(self, pair: str, now: float) -> tuple[int, int, int, int]:
        """(last price, price 24 h ago, high, low) in ticks; high and low over whole hours and the last price."""
        hour = int(now) // 3600 * 3600
        bars = [self.market.final(pair, "1h", t) for t in range(hour - 86400, hour, 3600)]
        price, opened = self.market.price(pair, now), self.market.price(pair, now - 86400)
        return price, opened, max([price, *(b[HIGH] for b in bars)]), min([price, *(b[LOW] for b in bars)])

    def klines_endpoint(self, request: web.Request):
        symbol = self.symbol(request)
        interval = request.query.get("interval")
        if interval not in LEVELS:
            raise ApiError(400, -1120, "Invalid interval.", weight=2)
        limit = min(1000, int(request.query.get("limit", 500)))
        start, end = request.query.get("startTime"), request.query.get("endTime")
        rows = self.klines(
            symbol.pair,
            interval,
            start=None if start is None else -(-int(start) // 1000),
            end=None if end is None else int(end) / 1000,
            limit=limit,
        )
        seconds = LEVELS[interval][0]
        return 2, [kline_row(symbol, t, bar, seconds) for t, *bar in rows]

    def depth(self, request: web.Request):
        symbol = self.symbol(request)
        limit = min(5000, int(request.query.get("limit", 100)))
        weight = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
        price = self.market.price(symbol.pair, self.now())
        p, v = symbol.price_decimals, symbol.volume_decimals
        size = max(1, int(symbol.quote_volume / 86400 / (price / 10**p) * 10**v))
        bids = [[decimal(price - 1 - k, p), decimal(size * (1 + k % 7), v)] for k in range(limit) if price - 1 - k > 0]
        asks = [[decimal(price + 1 + k, p), decimal(size * (1 + k % 5), v)] for k in range(limit)]
        return weight, {"lastUpdateId": int(self.now() * 10), "bids": bids, "asks": asks}

    def trades(self, request: web.Request):
        symbol = self.symbol(request)
        limit = min(1000, int(request.query.get("limit", 500)))
        now = self.now()
        p, v = symbol.price_decimals, symbol.volume_decimals
        newest = int(now * 2)
        rows = []
        for trade_id in range(newest - limit + 1, newest + 1):
            price = self.market.price(symbol.pair, trade_id / 2)
            qty = 10**v // 100 + trade_id % 97 * (10**v // 1000 + 1)
            rows.append(
                {
                    "id": trade_id,
                    "price": decimal(price, p),
                    "qty": decimal(qty, v),
                    "quoteQty": f"{price / 10**p * qty / 10**v:.8f}",
                    "time": trade_id * 500,
                    "isBuyerMaker": trade_id % 3 == 0,
                    "isBestMatch": True,
                }
            )
        return 25, rows

    def symbol(self, request: web.Request) -> ImitatedSymbol:
        pair = request.query.get("symbol")
        if not pair:
            raise ApiError(
                400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.", weight=1
            )
        if pair not in self.symbols:
            raise ApiError(400, -1121, "Invalid symbol.", weight=1)
        return self.symbols[pair]


class ApiError(Exception):
    """A request Binance refuses, with its HTTP status, error code and message."""

    def __init__(self, status: int, code: int, msg: str, *, weight: int):
        super().__init__(msg)
        self.status, self.code, self.msg, self.weight = status, code, msg, weight


def kline_row(symbol: ImitatedSymbol, open_time: int, bar: tuple[int, ...], seconds: int) -> list:
    """A kline in Binance's field order: times in ms, prices and volumes as strings."""
    p, v = symbol.price_decimals, symbol.volume_decimals
    o, h, lo, c, vol = bar[OPEN], bar[HIGH], bar[LOW], bar[CLOSE], bar[VOLUME]
    quote = vol / 10**v * (o + c) / 2 / 10**p
    return [
        open_time * 1000,
        decimal(o, p),
        decimal(h, p),
        decimal(lo, p),
        decimal(c, p),
        decimal(vol, v),
        (open_time + seconds) * 1000 - 1,
        f"{quote:.8f}",
        max(1, vol % 997),
        decimal(vol // 2, v),
        f"{quote / 2:.8f}",
        "0",
    ]


def symbol_info(symbol: ImitatedSymbol) -> dict:
    p, v = symbol.price_decimals, symbol.volume_decimals
    return {
        "symbol": symbol.pair,
        "status": symbol.status,
        "baseAsset": symbol.base,
        "baseAssetPrecision": 8,
        "quoteAsset": symbol.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": decimal(1, p),
                "maxPrice": "1000000.00000000",
                "tickSize": decimal(1, p),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": decimal(1, v),
                "maxQty": "900000000.00000000",
                "stepSize": decimal(1, v),
            },
        ],
        "permissions": [],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }
