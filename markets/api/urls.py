"""Markets API routes (no trailing slashes: /api/coins/BTC/candles)."""

from django.urls import path

from markets.api.views import CoinViewSet, ScreenerView, versioned_cache


def coin_action_view(name: str):
    """The view of one coin action, with the settings the action declares (no list filters, no
    pages), as a DRF router would build it."""
    return CoinViewSet.as_view({"get": name}, **getattr(CoinViewSet, name).kwargs)


urlpatterns = [
    path("coins", versioned_cache(CoinViewSet.as_view({"get": "list"})), name="coin-list"),
    path("coins/<str:symbol>", versioned_cache(CoinViewSet.as_view({"get": "retrieve"})), name="coin-detail"),
    path("coins/<str:symbol>/candles", coin_action_view("candles"), name="coin-candles"),
    path("coins/<str:symbol>/orderbook", coin_action_view("orderbook"), name="coin-orderbook"),
    path("coins/<str:symbol>/trades", coin_action_view("trades"), name="coin-trades"),
    path("coins/<str:symbol>/analysis", coin_action_view("analysis"), name="coin-analysis"),
    path("coins/<str:symbol>/patterns", coin_action_view("patterns"), name="coin-patterns"),
    path("screener", ScreenerView.as_view(), name="screener"),
]
