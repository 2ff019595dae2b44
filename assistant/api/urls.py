"""Assistant API routes (no trailing slashes)."""

from django.urls import path

from assistant.api import views

urlpatterns = [
    path("ai/chat", views.ChatView.as_view(), name="ai-chat"),
    path("ai/chat/<int:message_id>/events", views.ChatEventsView.as_view(), name="ai-chat-events"),
    path("ai/chat/<int:message_id>/stop", views.chat_stop, name="ai-chat-stop"),
    path("ai/conversations", views.ConversationList.as_view(), name="ai-conversation-list"),
    path("ai/conversations/<int:conversation_id>", views.conversation, name="ai-conversation-detail"),
    path("ai/actions/<int:action_id>/undo", views.tool_action, {"verb": "undo"}, name="ai-action-undo"),
    path("ai/actions/<int:action_id>/confirm", views.tool_action, {"verb": "confirm"}, name="ai-action-confirm"),
    path("ai/actions/<int:action_id>/decline", views.tool_action, {"verb": "decline"}, name="ai-action-decline"),
    path("ai/settings", views.assistant_settings, name="ai-settings"),
]
