"""The assistant's chat page and its small HTMX endpoints, under /assistant (no trailing slashes)."""

from django.urls import path

from assistant import views

app_name = "assistant"

urlpatterns = [
    path("assistant", views.chat_page, name="page"),
    path("assistant/conversations", views.conversation_list, name="conversations"),
    path("assistant/settings", views.settings_save, name="settings"),
    path("assistant/<int:pk>", views.chat_page, name="conversation"),
    path("assistant/<int:pk>/rename", views.conversation_rename, name="rename"),
    path("assistant/<int:pk>/delete", views.conversation_remove, name="delete"),
    *(
        path(f"assistant/actions/<int:pk>/{change}", views.action_change, {"change": change}, name=f"action-{change}")
        for change in views.ACTIONS
    ),
]
