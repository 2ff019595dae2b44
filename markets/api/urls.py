"""Markets API routes (no trailing slashes: /api/coins/BTC/candles)."""

from django.urls import path

from markets.api.views import CoinViewSet, ScreenerView, versioned_cache

urlpatterns = [
    path("coins", versioned_cache(CoinViewSet.as_view({"get": "list"})), name="coin-list"),
    path("coins/<str:symbol>", versioned_cache(CoinViewSet.as_view({"get": "retrieve"})), name="coin-detail"),
    path("coins/<str:symbol>/candles", CoinViewSet.as_view({"get": "candles"}), name="coin-candles"),
    path("coins/<str:symbol>/orderbook", CoinViewSet.as_view({"get": "orderbook"}), name="coin-orderbook"),
    path("coins/<str:symbol>/trades", CoinViewSet.as_view({"get": "trades"}), name="coin-trades"),
    path("coins/<str:symbol>/analysis", CoinViewSet.as_view({"get": "analysis"}), name="coin-analysis"),
    path("coins/<str:symbol>/patterns", CoinViewSet.as_view({"get": "patterns"}), name="coin-patterns"),
    path("screener", ScreenerView.as_view(), name="screener"),
]
