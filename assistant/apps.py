"""The assistant app: conversations, the seven tools, the chat loop and its streaming, the built-in assistant."""

from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "assistant"
    verbose_name = "AI assistant"
    default_auto_field = "django.db.models.BigAutoField"
