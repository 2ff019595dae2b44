"""Alert pages, under /alerts; Settings → Notifications (channels and deliveries), under /settings."""

from django.urls import path

from alerts import channel_views, views

app_name = "alerts"

urlpatterns = [
    path("alerts", views.alert_list, name="list"),
    path("alerts/new", views.alert_new, name="new"),
    path("alerts/preview", views.alert_preview, name="preview"),
    path("alerts/bulk", views.alerts_bulk, name="bulk"),
    path("alerts/notifications", views.notifications, name="notifications"),
    path("alerts/notifications/read", views.notifications_mark_read, name="notifications-read"),
    path("alerts/<int:pk>", views.alert_detail, name="detail"),
    path("alerts/<int:pk>/edit", views.alert_edit, name="edit"),
    path("alerts/<int:pk>/delete", views.alert_remove, name="delete"),
    path("settings", channel_views.settings_home, name="settings"),
    path("settings/notifications", channel_views.channels_page, name="channels"),
    path("settings/notifications/channels", channel_views.channel_add, name="channel-add"),
    path("settings/notifications/channels/<int:pk>/edit", channel_views.channel_edit, name="channel-edit"),
    path("settings/notifications/channels/<int:pk>/enabled", channel_views.channel_enable, name="channel-enable"),
    path("settings/notifications/channels/<int:pk>/test", channel_views.channel_send_test, name="channel-test"),
    path("settings/notifications/channels/<int:pk>/delete", channel_views.channel_remove, name="channel-delete"),
    path("settings/notifications/telegram/connect", channel_views.telegram_connect, name="telegram-connect"),
    path("settings/notifications/telegram/wait", channel_views.telegram_wait, name="telegram-wait"),
    path("settings/notifications/deliveries", channel_views.deliveries_page, name="deliveries"),
    path(
        "settings/notifications/deliveries/<int:pk>/replay", channel_views.delivery_replay_view, name="delivery-replay"
    ),
]
