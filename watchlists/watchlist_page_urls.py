"""Watchlist pages, under /watchlist (see watchlists/urls.py); the star on coin rows, under /watchlist/star."""

from django.urls import path

from watchlists import views

urlpatterns = [
    path("watchlist", views.watchlist_page, name="watchlist"),
    path("watchlist/new", views.watchlist_new, name="watchlist-new"),
    path("watchlist/star/<str:symbol>", views.star, name="watchlist-star"),
    path("watchlist/<int:pk>", views.watchlist_page, name="watchlist-detail"),
    path("watchlist/<int:pk>/rename", views.watchlist_rename, name="watchlist-rename"),
    path("watchlist/<int:pk>/delete", views.watchlist_remove, name="watchlist-delete"),
    path("watchlist/<int:pk>/items", views.item_add, name="watchlist-item-add"),
    path("watchlist/<int:pk>/items/<str:symbol>", views.item_edit, name="watchlist-item"),
    path("watchlist/<int:pk>/items/<str:symbol>/remove", views.item_remove, name="watchlist-item-remove"),
    path("watchlist/<int:pk>/order", views.items_order, name="watchlist-order"),
]
