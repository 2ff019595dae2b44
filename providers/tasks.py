"""Celery tasks of the providers app (thin: ids in, services called)."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="providers.tasks.budget_notice_channels", queue="notify")
def budget_notice_channels(user_id, text: str) -> int:
    """Send the 80 % budget notice to each enabled channel of the user; answers how many took it."""
    from alerts import transports
    from alerts.models import Channel

    sent = 0
    # No placeholders, as a quiet-hours digest: a webhook gets the text (its template is for firings).
    message = transports.Message(subject="AI budget at 80 %", text=text, webhook_id=f"msg_budget_{uuid.uuid4().hex}")
    for channel in Channel.objects.filter(user_id=user_id, enabled=True):
        try:
            transports.transport_for(channel.kind).send(channel, message)
            sent += 1
        except (transports.TransportError, transports.Paced) as failed:
            # A notice, not an alert: one try per channel; the bell holds it for good.
            logger.warning("AI budget notice to %s channel %s failed: %s", channel.kind, channel.pk, failed)
    return sent
