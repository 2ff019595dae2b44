"""The markets API: coins with filters and ordering, candles, order book, trades, technical
analysis, chart patterns and the screener."""

from __future__ import annotations

import hashlib
import time
from functools import partial, wraps
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from markets.analysis.selectors import analyses_for, analysis_for, coins_screen, patterns_for
from markets.api.serializers import (
    AnalysesSerializer,
    AnalysisQuerySerializer,
    AnalysisSerializer,
    CandleQuerySerializer,
    CandleSerializer,
    CoinSerializer,
    OrderBookQuerySerializer,
    OrderBookSerializer,
    PatternQuerySerializer,
    PatternsSerializer,
    ScreenerQuerySerializer,
    ScreenerSerializer,
    TradeQuerySerializer,
    TradeSerializer,
)
from markets.filters import CoinFilter
from markets.models import Coin
from markets.selectors import candles_for, coin_get, coin_queryset, orderbook_for, trades_for
from markets.snapshot import market_version
from scalpaiboard.api import BoundedLimitOffsetPagination

SYMBOL = OpenApiParameter(
    "symbol",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="A coin's base symbol, any case (BTC); GET /api/coins lists them.",
    examples=[OpenApiExample("Bitcoin", value="BTC")],
)

# Order books and trades are the market source's, in memory: none until its feed has published.
FEED_NOT_READY = OpenApiResponse(description="The market feed has not published this coin yet: try again shortly.")

# One coin's data: the coin list's filters and pages do not apply to it (nor to its schema).
coin_action = partial(action, detail=True, filter_backends=[], pagination_class=None)


@extend_schema_view(retrieve=extend_schema(parameters=[SYMBOL]))
class CoinViewSet(viewsets.ReadOnlyModelViewSet):
    """Coins quoted in USDT with their latest price and 24h figures (updated every second)."""

    permission_classes = [AllowAny]
    serializer_class = CoinSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CoinFilter
    pagination_class = BoundedLimitOffsetPagination
    lookup_field = "symbol"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return coin_queryset()

    def get_object(self) -> Coin:
        symbol = self.kwargs["symbol"]
        try:
            return coin_get(symbol=symbol)
        except Coin.DoesNotExist:
            raise NotFound(f"Unknown coin symbol '{symbol.upper()}'. GET /api/coins lists the known ones.") from None

    @staticmethod
    def query(serializer_class, request: Request) -> dict:
        params = serializer_class(data=request.query_params)
        params.is_valid(raise_exception=True)
        return params.validated_data

    @extend_schema(parameters=[SYMBOL, CandleQuerySerializer], responses=CandleSerializer(many=True))
    @coin_action()
    def candles(self, request: Request, symbol: str) -> Response:
        """OHLCV bars, oldest first; the last one is still forming when it is the current bar."""
        params = self.query(CandleQuerySerializer, request)
        return Response(candles_for(coin=self.get_object(), **params))

    @extend_schema(
        parameters=[SYMBOL, OrderBookQuerySerializer], responses={200: OrderBookSerializer, 503: FEED_NOT_READY}
    )
    @coin_action()
    def orderbook(self, request: Request, symbol: str) -> Response:
        """Bids and asks, best first, ``depth`` levels a side."""
        params = self.query(OrderBookQuerySerializer, request)
        return Response(orderbook_for(symbol=self.get_object().symbol, **params))

    @extend_schema(
        parameters=[SYMBOL, TradeQuerySerializer], responses={200: TradeSerializer(many=True), 503: FEED_NOT_READY}
    )
    @coin_action()
    def trades(self, request: Request, symbol: str) -> Response:
        """The latest trades, newest first."""
        params = self.query(TradeQuerySerializer, request)
        return Response(trades_for(symbol=self.get_object().symbol, **params))

    @extend_schema(
        parameters=[SYMBOL, AnalysisQuerySerializer],
        responses=PolymorphicProxySerializer("AnalysisOrAnalyses", [AnalysisSerializer, AnalysesSerializer], None),
    )
    @coin_action()
    def analysis(self, request: Request, symbol: str) -> Response:
        """Every indicator's latest value, support and resistance, the technical summary and alert
        suggestions, at the forming bar. A value is null with a reason when the history is too short.
        ``series=true`` adds the series for charting; ``timeframes=1h,4h,1d`` answers for several."""
        query = self.query(AnalysisQuerySerializer, request)
        coin = self.get_object()
        options = {"bars": query["bars"], "params": AnalysisQuerySerializer.analysis_params(query)}
        if "timeframes" in query:
            found = analyses_for(coin=coin, timeframes=query["timeframes"], series=query["series"], **options)
            return Response({"symbol": coin.symbol, "timeframes": found})
        return Response(analysis_for(coin=coin, timeframe=query["timeframe"], series=query["series"], **options))

    @extend_schema(parameters=[SYMBOL, PatternQuerySerializer], responses=PatternsSerializer)
    @coin_action()
    def patterns(self, request: Request, symbol: str) -> Response:
        """Chart patterns live at the last closed bar, with their key points, breakout and target."""
        query = self.query(PatternQuerySerializer, request)
        coin = self.get_object()
        found = patterns_for(coin=coin, **query)
        return Response(
            {
                "symbol": coin.symbol,
                "timeframe": query["timeframe"],
                "min_confidence": query["min_confidence"],
                "patterns": found,
            }
        )


class ScreenerView(APIView):
    """Coins whose latest RSI, live chart patterns and 24h volume match, by rank."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[ScreenerQuerySerializer], responses=ScreenerSerializer)
    def get(self, request: Request) -> Response:
        query = CoinViewSet.query(ScreenerQuerySerializer, request)
        rows = coins_screen(**query)
        return Response({"timeframe": query["timeframe"], "count": len(rows), "results": rows})


def versioned_cache(view, *, timeout: int = 2):
    """Serve a GET from the cache while the market has not changed.

    Keys carry the feed's version, which moves after each write of fresh prices, so a cached
    response is never older than the database; clients polling the same list share one query.
    When the version moves, one request renders the new response and the others wait for it.
    Without a version (the feed has not written the cache, or Redis is unreachable) every request
    is answered from the database. A response lives two seconds at most (the feed moves the version
    every second or faster), so that the ``age`` it states is at most that short when the feed has
    stopped and the version no longer moves.
    """

    @wraps(view)
    def cached(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        version = market_version()
        if not version or request.method != "GET" or "text/html" in request.headers.get("Accept", ""):
            return view(request, *args, **kwargs)
        key = f"api:{version}:{_url_digest(request)}"
        body = cache.get(key)
        rendering = f"{key}:rendering"
        if body is None and not cache.add(rendering, 1, timeout=5):
            body = _rendered_by_another(key)
        if body is not None:
            return HttpResponse(body, content_type="application/json")
        try:
            response = view(request, *args, **kwargs)
            if response.status_code == 200:
                response.render()
                cache.set(key, response.content, timeout)
        finally:
            cache.delete(rendering)
        return response

    return cached


def _url_digest(request: HttpRequest) -> str:
    """The path and the sorted query as a key of 32 characters, whatever the URL holds (a key of
    any length and character was unportable across cache backends, and unbounded in Redis)."""
    url = f"{request.path}?{urlencode(sorted(request.GET.lists()), doseq=True)}"
    return hashlib.blake2b(url.encode(), digest_size=16).hexdigest()


def _rendered_by_another(key: str, *, wait: float = 0.5) -> bytes | None:
    """The body another request is rendering, if it lands within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.005)
        body = cache.get(key)
        if body is not None:
            return body
    return None
