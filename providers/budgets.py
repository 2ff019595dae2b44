"""Monthly budgets, race-free: a request reserves its worst-case cost with one conditional UPDATE of
the provider's month row, and settles the reservation with its real cost when it ends.

PostgreSQL re-checks an UPDATE's WHERE on the row's newest version after waiting for its lock, so of
concurrent reservations at the edge of a budget only those that fit pass; none can pass it together.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from providers.models import ProviderConfig, ProviderMonth

logger = logging.getLogger(__name__)
WARN_AT = Decimal("0.8")


def month_start(at=None) -> date:
    """The first day of the (UTC) month of ``at`` (now by default)."""
    at = at or timezone.now()
    return date(at.year, at.month, 1)


def month_row(*, provider: ProviderConfig, month: date | None = None) -> ProviderMonth:
    month = month or month_start()
    try:
        with transaction.atomic():
            return ProviderMonth.objects.get_or_create(provider=provider, month=month)[0]
    except IntegrityError:  # created meanwhile by a concurrent request
        return ProviderMonth.objects.get(provider=provider, month=month)


def budget_reserve(*, provider: ProviderConfig, amount: Decimal) -> bool:
    """Hold ``amount`` of this month's budget for a request; False (nothing held) when a blocking
    budget has less than that left after what is spent and already held."""
    row = month_row(provider=provider)
    rows = ProviderMonth.objects.filter(pk=row.pk)
    if provider.block_at_budget and provider.monthly_budget_usd is not None:
        rows = rows.filter(spent_usd__lte=provider.monthly_budget_usd - F("reserved_usd") - amount)
    return rows.update(reserved_usd=F("reserved_usd") + amount) == 1


def budget_settle(*, provider: ProviderConfig, reserved: Decimal, cost: Decimal | None, month: date) -> ProviderMonth:
    """Release ``reserved`` and add the real ``cost`` (unknown: nothing) to the month's spend."""
    row = month_row(provider=provider, month=month)
    ProviderMonth.objects.filter(pk=row.pk).update(
        reserved_usd=F("reserved_usd") - reserved, spent_usd=F("spent_usd") + (cost or Decimal(0))
    )
    row.refresh_from_db()
    return row


def budget_remaining(*, provider: ProviderConfig, row: ProviderMonth | None) -> Decimal | None:
    if provider.monthly_budget_usd is None:
        return None
    used = (row.spent_usd + row.reserved_usd) if row else Decimal(0)
    return max(provider.monthly_budget_usd - used, Decimal(0))


def budget_warn_once(*, provider: ProviderConfig, row: ProviderMonth) -> bool:
    """Claim the month's 80 % notice (a conditional UPDATE: told once however many requests cross it)."""
    budget = provider.monthly_budget_usd
    if budget is None or budget <= 0 or row.spent_usd < budget * WARN_AT:
        return False
    return ProviderMonth.objects.filter(pk=row.pk, warned_at__isnull=True).update(warned_at=timezone.now()) == 1
