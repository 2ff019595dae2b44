"""Serializers of the watchlists API: the bodies and query parameters it reads (unknown fields refused by
name) and, for the schema, the shapes it answers (built by ``watchlists.selectors``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.api.serializers import ClosedSerializer
from alerts.conditions import MAX_PRICE
from watchlists.models import MAX_ITEMS
from watchlists.selectors import ORDERINGS
from watchlists.services import NAME_LENGTH, NOTE_LENGTH

SYMBOL_LENGTH = 20


class ClosedBody(ClosedSerializer):
    """A body whose unknown fields are a 400 naming each, with the fields allowed."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            allowed = ", ".join(self.fields)
            message = f"Unknown field; allowed: {allowed}."
            unknown = {str(name)[:40]: [message] for name in data if name not in self.fields}
            if unknown:
                raise serializers.ValidationError(unknown)
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """Text as sent: a JSON string only (DRF's CharField turns 0 into "0"), at most ``max_length``
    characters before any trimming (as the schema's maxLength counts them)."""

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length, length=len(data))
        return super().to_internal_value(data)


@extend_schema_field({"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": MAX_PRICE, "nullable": True})
class PriceField(serializers.FloatField):
    """A price above 0 and at most MAX_PRICE (USDT), or null."""

    default_error_messages = {"positive": f"Must be a number above 0 and at most {MAX_PRICE:g} (USDT), or null."}

    def to_internal_value(self, data) -> float:
        if isinstance(data, bool):  # DRF would take true as 1.0
            self.fail("invalid")
        value = super().to_internal_value(data)
        if not 0 < value <= MAX_PRICE:
            self.fail("positive")
        return value


def _price(words: str) -> PriceField:
    return PriceField(
        required=False, allow_null=True, help_text=f"{words} (USDT, above 0); null clears it and deletes its alert."
    )


class WatchlistBodySerializer(ClosedBody):
    """A list as POST /api/watchlists takes it."""

    name = TextField(max_length=NAME_LENGTH, help_text="Unique among your lists (any case).")


class WatchlistEditSerializer(ClosedBody):
    """A list's fields edited (PATCH /api/watchlists/{id}): those given change."""

    name = TextField(max_length=NAME_LENGTH, required=False, help_text="Unique among your lists (any case).")


class ItemBodySerializer(ClosedBody):
    """A coin added to a list."""

    symbol = TextField(max_length=SYMBOL_LENGTH, help_text="A listed coin's base symbol, any case (BTC).")
    note = TextField(max_length=NOTE_LENGTH, allow_blank=True, trim_whitespace=False, default="")
    target_price = _price("Kept as a crossing_up alert on the coin")
    stop_price = _price("Kept as a crossing_down alert on the coin")


class DefaultItemBodySerializer(ClosedBody):
    """A coin added to the default list (the seed's POST /api/watchlist)."""

    symbol = TextField(max_length=SYMBOL_LENGTH, help_text="A listed coin's base symbol, any case (BTC).")
    note = TextField(max_length=NOTE_LENGTH, allow_blank=True, trim_whitespace=False, default="")


class ItemEditSerializer(ClosedBody):
    """An item's fields edited: those given change, the others stay."""

    note = TextField(max_length=NOTE_LENGTH, allow_blank=True, trim_whitespace=False, required=False)
    target_price = _price("Kept as a crossing_up alert on the coin: made, or moved")
    stop_price = _price("Kept as a crossing_down alert on the coin: made, or moved")


class OrderSerializer(ClosedBody):
    """The list's coins in their new order."""

    symbols = serializers.ListField(
        child=TextField(max_length=SYMBOL_LENGTH),
        max_length=MAX_ITEMS,
        allow_empty=True,
        help_text="Each coin of the list exactly once (any case), in the new order.",
    )


class ItemsQuerySerializer(serializers.Serializer):
    """How a list's items are answered."""

    sparkline = serializers.BooleanField(
        default=False, help_text="true: each item with `sparkline`, its hourly closes of the last 7 days."
    )
    ordering = serializers.ChoiceField(
        choices=ORDERINGS,
        required=False,
        help_text="An item field to sort by, `-` first for descending; empty values last. Default: the list's order.",
    )


class WatchlistItemSerializer(serializers.Serializer):
    """A coin on a list with its live figures (spelled as /api/coins spells its own)."""

    symbol = serializers.CharField()
    name = serializers.CharField()
    price = serializers.FloatField(help_text="Live price (USDT), as /api/coins answers it.")
    change24h = serializers.FloatField(help_text="Percent change over 24 hours.")
    change7d = serializers.FloatField(
        allow_null=True,
        help_text="Percent change since 7 days ago: against the close of the last 1h bar closed by then (else of "
        "the last 1d bar). Null when the stored history is shorter.",
    )
    change30d = serializers.FloatField(allow_null=True, help_text="As change7d, since 30 days ago.")
    change_since_added = serializers.FloatField(allow_null=True, help_text="Percent change since added_price.")
    volume24h = serializers.FloatField(help_text="Quote (USDT) volume over 24 hours.")
    added_at = serializers.DateTimeField()
    added_price = serializers.FloatField(help_text="The price when the coin was added (USDT).")
    note = serializers.CharField()
    target_price = serializers.FloatField(allow_null=True)
    stop_price = serializers.FloatField(allow_null=True)
    target_alert = serializers.IntegerField(allow_null=True, help_text="Id of the crossing_up alert of target_price.")
    stop_alert = serializers.IntegerField(allow_null=True, help_text="Id of the crossing_down alert of stop_price.")
    position = serializers.IntegerField(help_text="Place in the list's order, from 0.")
    sparkline = serializers.ListField(
        child=serializers.FloatField(),
        required=False,
        help_text="With sparkline=true only: the hourly closes of the last 7 days, oldest first.",
    )


class WatchlistSerializer(serializers.Serializer):
    """A list without its items."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    is_default = serializers.BooleanField(help_text="The list GET /api/watchlist answers; it cannot be deleted.")
    position = serializers.IntegerField()
    item_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class WatchlistDetailSerializer(WatchlistSerializer):
    """A list with its items."""

    items = WatchlistItemSerializer(many=True)


class OrderResultSerializer(serializers.Serializer):
    symbols = serializers.ListField(child=serializers.CharField(), help_text="The list's coins in their order.")
