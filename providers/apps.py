"""The providers app: AI provider configurations (keys encrypted), prices, usage, budgets, adapters."""

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "AI providers"
    default_auto_field = "django.db.models.BigAutoField"
