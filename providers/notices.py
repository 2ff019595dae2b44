"""The 80 % budget notice: in the bell (in-app), and through the owner's notification channels."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from alerts.models import Notification
from alerts.notifications import notifications_send_on_commit
from providers.models import ProviderConfig

logger = logging.getLogger(__name__)


def budget_notice_text(*, provider: ProviderConfig, spent: Decimal) -> str:
    budget = provider.monthly_budget_usd
    share = spent / budget * 100 if budget else Decimal(0)
    then = "requests will be refused" if provider.block_at_budget else "requests will go on (the budget does not block)"
    return (
        f"AI provider {provider.name} has used ${spent:.2f} of its ${budget} monthly budget ({share:.0f} %). "
        f"At 100 % {then}."
    )


def budget_notice_send(*, provider: ProviderConfig, user, spent: Decimal) -> None:
    """Tell the provider's owner (the operator's staff for a shared provider) once the month's spend passes 80 %."""
    text = budget_notice_text(provider=provider, spent=spent)
    owners = (
        [provider.user] if provider.user_id else list(get_user_model().objects.filter(is_staff=True, is_active=True))
    )
    now = timezone.now()
    notices = Notification.objects.bulk_create(
        Notification(user=owner, kind=Notification.Kind.AI_BUDGET, symbol="", message=text[:2000], fired_at=now)
        for owner in owners
    )
    notifications_send_on_commit(notices)
    for owner in owners:
        transaction.on_commit(lambda owner_id=owner.pk: _channels_notify(owner_id, text))


def _channels_notify(owner_id, text: str) -> None:
    """Embedded: sent from here (no worker); full stack: by a worker on the notify queue."""
    from providers.tasks import budget_notice_channels

    if settings.CELERY_TASK_ALWAYS_EAGER:
        budget_notice_channels(owner_id, text)
    else:
        budget_notice_channels.delay(owner_id, text)
