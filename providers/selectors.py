"""Reads of the providers app: which providers a user may use, a provider as the API answers it, the
month's usage summary and its most expensive conversations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404

from providers import budgets
from providers.adapters.base import Credentials
from providers.crypto import secrets_decrypt
from providers.models import ProviderConfig, ProviderMonth, UsageRecord


def providers_visible(*, user) -> QuerySet[ProviderConfig]:
    """The user's own providers and the operator's (shared) ones, in fallback order."""
    return ProviderConfig.objects.filter(Q(user=user) | Q(user__isnull=True)).order_by("priority", "id")


def provider_get(*, user, provider_id, own: bool = False) -> ProviderConfig:
    """A provider the user may use (``own``: may change); 404 for anyone else's, as if it did not exist."""
    providers = ProviderConfig.objects.filter(user=user) if own else providers_visible(user=user)
    try:
        return providers.get(pk=int(provider_id))
    except (ProviderConfig.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No such provider.") from None


def providers_usable(*, user, first: int | None = None) -> list[ProviderConfig]:
    """The enabled providers a request tries, in order: ``first`` (when given), then by priority."""
    enabled = list(providers_visible(user=user).filter(enabled=True))
    if first is None:
        return enabled
    chosen = provider_get(user=user, provider_id=first)
    return [chosen, *(p for p in enabled if p.pk != chosen.pk)]


def provider_credentials(config: ProviderConfig) -> Credentials:
    secrets = secrets_decrypt(config.secrets)
    return Credentials(
        api_key=secrets.get("api_key", ""),
        aws_access_key_id=secrets.get("aws_access_key_id", ""),
        aws_secret_access_key=secrets.get("aws_secret_access_key", ""),
        aws_region=config.aws_region,
        google_project=config.google_project,
        google_location=config.google_location,
        google_credentials_json=secrets.get("google_credentials_json", ""),
    )


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else _exact(value)


def month_spend(providers: list[ProviderConfig], month: date | None = None) -> dict[int, ProviderMonth]:
    rows = ProviderMonth.objects.filter(provider__in=providers, month=month or budgets.month_start())
    return {row.provider_id: row for row in rows}


def provider_as_json(config: ProviderConfig, month_row: ProviderMonth | None = None) -> dict:
    """A provider as the API answers it: never a secret, only ``has_key`` and ``key_hint``."""
    spent = month_row.spent_usd if month_row else Decimal(0)
    return {
        "id": config.pk,
        "kind": config.kind,
        "name": config.name,
        "model": config.model,
        "base_url": config.base_url,
        "has_key": config.has_key,
        "key_hint": config.key_hint,
        "aws_region": config.aws_region,
        "google_project": config.google_project,
        "google_location": config.google_location,
        "monthly_budget_usd": _money(config.monthly_budget_usd),
        "block_at_budget": config.block_at_budget,
        "priority": config.priority,
        "enabled": config.enabled,
        "price_input_per_mtok": _decimal(config.price_input_per_mtok),
        "price_cached_input_per_mtok": _decimal(config.price_cached_input_per_mtok),
        "price_output_per_mtok": _decimal(config.price_output_per_mtok),
        "month_spent_usd": _exact(spent),
        "shared": config.shared,
        "created_at": config.created_at,
        "updated_at": config.updated_at,
    }


def _money(value: Decimal | None) -> str | None:
    """Dollars to the cent for display fields (exact costs keep every digit elsewhere)."""
    return None if value is None else f"{value:.2f}"


def providers_as_json(*, user) -> list[dict]:
    providers = list(providers_visible(user=user))
    rows = month_spend(providers)
    return [provider_as_json(p, rows.get(p.pk)) for p in providers]


def usage_summary(*, user, month: date) -> dict:
    """``GET /api/ai/usage``: the user's spend in ``month``, per provider and model, the 12 months up to
    it, and each provider's budget and what is left of it."""
    records = UsageRecord.objects.filter(user=user, created_at__year=month.year, created_at__month=month.month)
    totals = records.aggregate(spent=Sum("cost_usd"), requests=Count("id"))
    return {
        "month": f"{month:%Y-%m}",
        "total_spent": _exact(totals["spent"]),
        "total_requests": totals["requests"],
        "cost_breakdown": _breakdown(records),
        "monthly_trend": _trend(user, month),
        "budgets": _budgets(user, month),
    }


def _exact(value: Decimal | None) -> str:
    return format((value or Decimal(0)).normalize(), "f") if value else "0"


def _breakdown(records: QuerySet[UsageRecord]) -> list[dict]:
    rows = (
        records.values("provider_id", "provider_name", "provider_kind", "model")
        .annotate(
            requests=Count("id"),
            input_tokens=Sum("input_tokens"),
            cached_input_tokens=Sum("cached_input_tokens"),
            output_tokens=Sum("output_tokens"),
            cost=Sum("cost_usd"),
            unpriced=Count("id", filter=Q(cost_usd__isnull=True, status=UsageRecord.Status.OK)),
        )
        .order_by("provider_name", "model")
    )
    return [
        {
            "provider_id": row["provider_id"],
            "provider": row["provider_name"],
            "kind": row["provider_kind"],
            "model": row["model"],
            "requests": row["requests"],
            "input_tokens": row["input_tokens"],
            "cached_input_tokens": row["cached_input_tokens"],
            "output_tokens": row["output_tokens"],
            "cost_usd": _exact(row["cost"]),
            "unpriced_requests": row["unpriced"],
        }
        for row in rows
    ]


def _trend(user, month: date) -> list[dict]:
    first = _months_before(month, 11)
    rows = (
        UsageRecord.objects.filter(
            user=user, created_at__date__gte=first, created_at__date__lt=_months_before(month, -1)
        )
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(cost=Sum("cost_usd"), requests=Count("id"))
    )
    by_month = {(row["month"].year, row["month"].month): row for row in rows}
    trend = []
    for back in range(11, -1, -1):
        day = _months_before(month, back)
        row = by_month.get((day.year, day.month), {})
        trend.append({"month": f"{day:%Y-%m}", "cost_usd": _exact(row.get("cost")), "requests": row.get("requests", 0)})
    return trend


def _months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _budgets(user, month: date) -> list[dict]:
    providers = list(providers_visible(user=user))
    rows = month_spend(providers, month)
    answer = []
    for provider in providers:
        row = rows.get(provider.pk)
        remaining = budgets.budget_remaining(provider=provider, row=row)
        answer.append(
            {
                "provider_id": provider.pk,
                "provider": provider.name,
                "monthly_budget_usd": _money(provider.monthly_budget_usd),
                "block_at_budget": provider.block_at_budget,
                "spent_usd": _exact(row.spent_usd if row else None),
                "remaining_usd": _exact(remaining) if remaining is not None else None,
            }
        )
    return answer


def conversations_costliest(*, user, month: date, limit: int = 10) -> list[dict]:
    """The user's conversations in ``month`` by cost, most expensive first (an unpriced one last), each
    with its cost (None when unknown), requests, tokens and last request."""
    rows = (
        UsageRecord.objects.filter(user=user, created_at__year=month.year, created_at__month=month.month)
        .filter(conversation_id__isnull=False)
        .values("conversation_id")
        .annotate(
            cost=Sum("cost_usd"),
            requests=Count("id"),
            tokens=Sum(F("input_tokens") + F("output_tokens")),
            last=Max("created_at"),
        )
        .order_by(F("cost").desc(nulls_last=True), "-last")[:limit]
    )
    return list(rows)
