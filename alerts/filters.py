"""The alert list's filters, shared by the alert manager page and GET /api/alerts; the delivery log's,
shared by the notifications page and GET /api/notifications/deliveries."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from alerts.conditions import KINDS
from alerts.models import Alert, Delivery

MAX_ID = 2**63 - 1


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number from 1 (a fraction or text is a 400 naming the parameter)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class AlertFilter(django_filters.FilterSet):
    """By status, coin (any case) and condition kind; an empty value filters nothing."""

    status = django_filters.ChoiceFilter(choices=Alert.Status.choices, help_text="Only alerts in this status.")
    symbol = django_filters.CharFilter(
        method="filter_symbol", max_length=20, help_text="Only alerts on this coin (its symbol, any case)."
    )
    kind = django_filters.ChoiceFilter(
        choices=[(kind, kind) for kind in KINDS], help_text="Only alerts whose condition is of this kind."
    )
    watchlist = IdFilter(field_name="watchlist_id", help_text="Only the alerts on this watchlist of yours.")

    class Meta:
        model = Alert
        fields = ["status", "symbol", "kind", "watchlist"]

    def filter_symbol(self, alerts: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        return alerts.filter(coin__symbol=value.strip().upper())


class DeliveryFilter(django_filters.FilterSet):
    """The delivery log by state, channel and alert (ids; another user's match nothing)."""

    state = django_filters.ChoiceFilter(choices=Delivery.State.choices, help_text="Only deliveries in this state.")
    channel = IdFilter(field_name="channel_id", help_text="Only deliveries to this channel of yours.")
    alert = IdFilter(
        method="filter_alert", help_text="Only deliveries of this alert's firings (a watchlist alert's: its coins')."
    )

    class Meta:
        model = Delivery
        fields = ["state", "channel", "alert"]

    def filter_alert(self, deliveries: QuerySet[Delivery], name: str, value: int) -> QuerySet[Delivery]:
        return deliveries.filter(Q(event__alert_id=value) | Q(event__alert__parent_id=value))
