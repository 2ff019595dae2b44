"""The alert list's filters, shared by the alert manager page and GET /api/alerts."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from alerts.conditions import KINDS
from alerts.models import Alert


class AlertFilter(django_filters.FilterSet):
    """By status, coin (any case) and condition kind; an empty value filters nothing."""

    status = django_filters.ChoiceFilter(choices=Alert.Status.choices, help_text="Only alerts in this status.")
    symbol = django_filters.CharFilter(
        method="filter_symbol", max_length=20, help_text="Only alerts on this coin (its symbol, any case)."
    )
    kind = django_filters.ChoiceFilter(
        choices=[(kind, kind) for kind in KINDS], help_text="Only alerts whose condition is of this kind."
    )

    class Meta:
        model = Alert
        fields = ["status", "symbol", "kind"]

    def filter_symbol(self, alerts: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return alerts.filter(coin__symbol=value.strip().upper())
