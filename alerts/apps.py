"""The alerts app: alert definitions, the evaluation engine, firings and in-app notifications."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"
