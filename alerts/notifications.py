"""In-app notifications over /ws: each user's channel-layer group and the message the contract names.

``{"type": "notification", "id", "alert_id", "symbol", "message", "fired_at", "price", "unread"}``
reaches every socket of the user that subscribed with ``{"action": "subscribe", "channel":
"notifications"}``; it is sent after the transaction that stored the notification commits.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from alerts.models import Notification

logger = logging.getLogger(__name__)


def notifications_group(user_id) -> str:
    """The channel-layer group of one user's sockets that follow notifications."""
    return f"notifications.{user_id}"


def notification_payload(notification: Notification) -> dict:
    """The /ws message for ``notification``."""
    return {
        "type": "notification",
        "id": notification.pk,
        "kind": notification.kind,
        "alert_id": notification.alert_id,
        "symbol": notification.symbol,
        "message": notification.message,
        "fired_at": notification.fired_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "price": notification.price,
        "unread": notification.unread,
    }


def notifications_send_on_commit(notifications: list[Notification]) -> None:
    """Send each notification to its user's sockets once the current transaction commits."""
    if notifications:
        transaction.on_commit(lambda: _send([(n.user_id, notification_payload(n)) for n in notifications]))


def _send(messages: list[tuple[object, dict]]) -> None:
    # One event loop for all of them: a loop (and a Redis connection) per message costs ~15 ms each.
    async_to_sync(_send_all)(get_channel_layer(), messages)


async def _send_all(layer, messages: list[tuple[object, dict]]) -> None:
    for user_id, payload in messages:
        try:
            await layer.group_send(
                notifications_group(user_id), {"type": "notification.message", "notification": payload}
            )
        except Exception:  # the notification is stored; the bell's next load shows it
            logger.warning("Could not send a notification to user %s's sockets", user_id, exc_info=True)
