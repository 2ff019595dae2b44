"""Alert pages, under /alerts."""

from django.urls import path

from alerts import views

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
]
