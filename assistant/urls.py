"""The assistant's chat page and its small HTMX endpoints, under /assistant (no trailing slashes)."""

from django.urls import path

from assistant import views

app_name = "assistant"

urlpatterns = [
    path("assistant", views.chat_page, name="page"),
    path("assistant/conversations", views.conversation_list, name="conversations"),
    path("assistant/settings", views.settings_save, name="settings"),
    path("assistant/<int:conversation_id>", views.chat_page, name="conversation"),
    path("assistant/<int:conversation_id>/rename", views.conversation_rename, name="rename"),
    path("assistant/<int:conversation_id>/delete", views.conversation_remove, name="delete"),
    path("assistant/actions/<int:action_id>/<str:change>", views.action_change, name="action"),
]
