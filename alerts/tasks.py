"""Celery tasks of the ``alerts`` queue: thin wrappers around the engine each worker keeps in memory,
and the schedule's expiry sweep."""

from __future__ import annotations

from celery import shared_task

from alerts import telegram_connect
from alerts.engine_runner import bars_evaluate, prices_evaluate
from alerts.firing import alerts_expire


@shared_task(ignore_result=True)
def alerts_prices_evaluate(symbols: list[str], previous: list[float], prices: list[float], ts: list[int]) -> int:
    """Evaluate one price batch on this worker's engine."""
    return prices_evaluate(symbols, previous, prices, ts)


@shared_task(ignore_result=True)
def alerts_bars_evaluate(bars: list[list]) -> int:
    """Evaluate bars closed on this worker's engine."""
    return bars_evaluate(bars)


@shared_task(ignore_result=True)
def alerts_expire_due() -> int:
    """Mark alerts whose expiry passed as expired."""
    return alerts_expire()


@shared_task(ignore_result=True)
def telegram_updates_poll() -> int:
    """Link the chats that sent the bot /start <code> since the last poll (getUpdates; beat, every 3 s)."""
    return telegram_connect.telegram_updates_poll()
