"""Celery tasks of the markets app."""

from celery import shared_task
from django.conf import settings

from markets.services import candles_prune


@shared_task(name="markets.tasks.candles_prune")
def candles_prune_task() -> int:
    """Delete 1m candles past their retention; scheduled hourly by beat."""
    return candles_prune(keep_days_1m=settings.CANDLE_RETENTION_DAYS_1M)
