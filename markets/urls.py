"""Market pages."""

from django.urls import path

from markets import views

app_name = "markets"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("markets/overview", views.overview, name="overview"),
    path("markets/feed-status", views.feed_delay, name="feed-status"),
    path("coins/<str:symbol>", views.coin_detail, name="coin"),
    path("coins/<str:symbol>/analysis", views.coin_analysis, name="coin-analysis"),
    path("analysis", views.analysis_home, name="analysis"),
    path("coins/<str:symbol>/orderbook", views.coin_orderbook, name="coin-orderbook"),
    path("coins/<str:symbol>/trades", views.coin_trades, name="coin-trades"),
]
