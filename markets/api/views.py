"""The markets API: coins with filters and ordering, candles, order book, trades."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from markets.api.serializers import (
    CandleQuerySerializer,
    CandleSerializer,
    CoinSerializer,
    OrderBookQuerySerializer,
    OrderBookSerializer,
    TradeQuerySerializer,
    TradeSerializer,
)
from markets.filters import CoinFilter
from markets.models import Coin
from markets.selectors import candles_for, coin_get, coin_queryset, orderbook_for, trades_for
from markets.snapshot import market_version
from scalpaiboard.api import BoundedLimitOffsetPagination


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

    @extend_schema(parameters=[CandleQuerySerializer], responses=CandleSerializer(many=True))
    @action(detail=True)
    def candles(self, request: Request, symbol: str) -> Response:
        """OHLCV bars, oldest first; the last one is still forming when it is the current bar."""
        params = self.query(CandleQuerySerializer, request)
        return Response(candles_for(coin=self.get_object(), **params))

    @extend_schema(parameters=[OrderBookQuerySerializer], responses=OrderBookSerializer)
    @action(detail=True)
    def orderbook(self, request: Request, symbol: str) -> Response:
        """Bids and asks, best first, ``depth`` levels a side."""
        params = self.query(OrderBookQuerySerializer, request)
        return Response(orderbook_for(symbol=self.get_object().symbol, **params))

    @extend_schema(parameters=[TradeQuerySerializer], responses=TradeSerializer(many=True))
    @action(detail=True)
    def trades(self, request: Request, symbol: str) -> Response:
        """The latest trades, newest first."""
        params = self.query(TradeQuerySerializer, request)
        return Response(trades_for(symbol=self.get_object().symbol, **params))


def versioned_cache(view, *, timeout: int = 10):
    """Serve a GET from the cache while the market has not changed.

    Keys carry the feed's version, which moves after each write of fresh prices, so a cached
    response is never older than the database; clients polling the same list share one query.
    """

    @wraps(view)
    def cached(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "GET" or "text/html" in request.headers.get("Accept", ""):
            return view(request, *args, **kwargs)
        key = f"api:{market_version()}:{request.path}?{urlencode(sorted(request.GET.lists()), doseq=True)}"
        body = cache.get(key)
        if body is not None:
            return HttpResponse(body, content_type="application/json")
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            response.render()
            cache.set(key, response.content, timeout)
        return response

    return cached
