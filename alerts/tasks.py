"""Celery tasks: the ``alerts`` queue's thin wrappers around the engine each worker keeps in memory and
the schedule's expiry sweep; the ``notify`` queue's delivery sends and their sweep."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from alerts import telegram_connect
from alerts.deliveries import deliveries_send_batch, deliveries_sweep
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


@shared_task(ignore_result=True, acks_late=True)
def deliveries_send(ids: list[int]) -> None:
    """Send these deliveries (queue ``notify``). Safe to run twice: a delivery is claimed before it is sent."""
    deliveries_send_batch(ids)


@shared_task(ignore_result=True)
def deliveries_sweep_due() -> int:
    """Re-enqueue deliveries whose task may be lost, and those a killed worker left in ``sending``."""
    return deliveries_sweep()


@worker_ready.connect
def _sweep_when_a_notify_worker_starts(sender, **kwargs) -> None:
    """A worker that replaces a killed one picks up its deliveries now, not after the broker's timeout."""
    if "notify" in sender.app.amqp.queues.consume_from:
        deliveries_sweep_due.apply_async(queue="notify")


@shared_task(ignore_result=True)
def telegram_updates_poll() -> int:
    """Link the chats that sent the bot /start <code> since the last poll (getUpdates; beat, every 3 s)."""
    return telegram_connect.telegram_updates_poll()
