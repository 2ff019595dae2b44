"""Alerts API routes (no trailing slashes: /api/alerts/12/history)."""

from django.urls import path

from alerts.api.channel_views import ChannelViewSet, DeliveryViewSet, TelegramViewSet
from alerts.api.views import AlertViewSet, NotificationViewSet
from alerts.telegram_connect import telegram_webhook


def view(viewset, actions: dict[str, str]):
    """The view of ``actions`` (method: action), with the settings an @action declares, as a DRF router builds it."""
    declared = next(
        (getattr(viewset, name).kwargs for name in actions.values() if hasattr(getattr(viewset, name), "kwargs")), {}
    )
    return viewset.as_view(actions, **declared)


urlpatterns = [
    path("alerts", view(AlertViewSet, {"get": "list", "post": "create"}), name="alert-list"),
    path("alerts/export", view(AlertViewSet, {"get": "export"}), name="alert-export"),
    path("alerts/import", view(AlertViewSet, {"post": "import_"}), name="alert-import"),
    path("alerts/backtest", view(AlertViewSet, {"post": "backtest"}), name="alert-backtest"),
    path("alerts/bulk", view(AlertViewSet, {"post": "bulk"}), name="alert-bulk"),
    path(
        "alerts/<int:id>",
        view(AlertViewSet, {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}),
        name="alert-detail",
    ),
    path("alerts/<int:id>/history", view(AlertViewSet, {"get": "history"}), name="alert-history"),
    path("alerts/<int:id>/pause", view(AlertViewSet, {"post": "pause"}), name="alert-pause"),
    path("alerts/<int:id>/resume", view(AlertViewSet, {"post": "resume"}), name="alert-resume"),
    path("notifications", view(NotificationViewSet, {"get": "list"}), name="notification-list"),
    path("notifications/read", view(NotificationViewSet, {"post": "read"}), name="notification-read"),
    path(
        "notifications/channels",
        view(ChannelViewSet, {"get": "list", "post": "create"}),
        name="channel-list",
    ),
    path(
        "notifications/channels/<int:id>",
        view(ChannelViewSet, {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="channel-detail",
    ),
    path("notifications/channels/<int:id>/test", view(ChannelViewSet, {"post": "test"}), name="channel-test"),
    path("notifications/deliveries", view(DeliveryViewSet, {"get": "list"}), name="delivery-list"),
    path("notifications/deliveries/<int:id>/replay", view(DeliveryViewSet, {"post": "replay"}), name="delivery-replay"),
    path("notifications/telegram/connect", view(TelegramViewSet, {"post": "connect"}), name="telegram-connect"),
    path("notifications/telegram/webhook", telegram_webhook, name="telegram-webhook"),
]
