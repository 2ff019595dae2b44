"""WebSocket routes of the markets app."""

from django.urls import path

from markets.consumers import MarketConsumer

websocket_urlpatterns = [path("ws", MarketConsumer.as_asgi())]
