"""Watchlists API routes (no trailing slashes): the seed's default list at /api/watchlist, named lists at
/api/watchlists/{id}, their coins at /api/watchlists/{id}/items/{symbol}."""

from django.urls import path

from watchlists.api.watchlist_views import DefaultWatchlistViewSet, WatchlistItemViewSet, WatchlistViewSet

urlpatterns = [
    path("watchlist", DefaultWatchlistViewSet.as_view({"get": "retrieve", "post": "create"}), name="watchlist-default"),
    path(
        "watchlist/<str:symbol>", DefaultWatchlistViewSet.as_view({"delete": "destroy"}), name="watchlist-default-item"
    ),
    path("watchlists", WatchlistViewSet.as_view({"get": "list", "post": "create"}), name="watchlist-list"),
    path(
        "watchlists/<int:id>",
        WatchlistViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="watchlist-detail",
    ),
    path("watchlists/<int:id>/order", WatchlistViewSet.as_view({"post": "order"}), name="watchlist-order"),
    path("watchlists/<int:id>/items", WatchlistItemViewSet.as_view({"post": "create"}), name="watchlist-items"),
    path(
        "watchlists/<int:id>/items/<str:symbol>",
        WatchlistItemViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="watchlist-item",
    ),
]
