"""The coin list's filters and ordering, shared by the dashboard table and GET /api/coins."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet

from markets.models import Coin

LIMIT = 1e15


class BoundedNumberFilter(django_filters.NumberFilter):
    """A finite number within ±1e15: anything larger is a typo, and would overflow some databases."""

    field_class = forms.FloatField

    def __init__(self, *args, minimum: float = -LIMIT, **kwargs):
        kwargs.setdefault("min_value", minimum)
        kwargs.setdefault("max_value", LIMIT)
        kwargs.setdefault(
            "error_messages",
            {
                "invalid": f"Enter a number between {minimum:g} and {LIMIT:g}.",
                "min_value": f"Enter a number between {minimum:g} and {LIMIT:g}.",
                "max_value": f"Enter a number between {minimum:g} and {LIMIT:g}.",
            },
        )
        super().__init__(*args, **kwargs)


EMPTY_ITEM = "An item of the list is empty: give them separated by single commas, e.g. -price,rank."


class ListWithoutEmptyItemsField(django_filters.fields.BaseCSVField):
    """A comma-separated list whose every item is given: ``-price,`` is a typo to point out, not a
    shorter list (an empty value, ``ordering=``, is still no list at all)."""

    def clean(self, value):
        if value and "" in value:
            raise forms.ValidationError(EMPTY_ITEM, code="empty_item")
        return super().clean(value)


class NullsLastOrderingFilter(django_filters.OrderingFilter):
    """Ordering where coins without a value (e.g. unknown market cap) come last either way,
    ties broken by rank so that pages never overlap."""

    base_field_class = ListWithoutEmptyItemsField

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        if not value:
            return qs
        fields = [self.get_ordering_value(v) for v in value if v]
        order = [F(f[1:]).desc(nulls_last=True) if f.startswith("-") else F(f).asc(nulls_last=True) for f in fields]
        return qs.order_by(*order, "rank")


ORDERING_FIELDS = (
    ("rank", "rank"),
    ("price", "price"),
    ("change_24h", "change24h"),
    ("volume_24h", "volume24h"),
    ("market_cap", "market_cap"),
    ("symbol", "symbol"),
)


class CoinFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=50, label="Symbol or name contains")
    min_price = BoundedNumberFilter(field_name="price", lookup_expr="gte", minimum=0)
    max_price = BoundedNumberFilter(field_name="price", lookup_expr="lte", minimum=0)
    min_volume = BoundedNumberFilter(
        field_name="volume_24h", lookup_expr="gte", minimum=0, label="Min 24h volume (USDT)"
    )
    min_change = BoundedNumberFilter(field_name="change_24h", lookup_expr="gte", label="Min 24h change %")
    max_change = BoundedNumberFilter(field_name="change_24h", lookup_expr="lte", label="Max 24h change %")
    ordering = NullsLastOrderingFilter(fields=ORDERING_FIELDS)

    class Meta:
        model = Coin
        fields: list[str] = []

    def filter_search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return qs.filter(Q(symbol__icontains=value) | Q(name__icontains=value)) if value else qs
