"""The Scalpaiboard project package: settings, URLs, ASGI/Celery apps and accounts."""

from scalpaiboard.celery import app as celery_app

__all__ = ["celery_app"]
