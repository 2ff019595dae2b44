"""Serializers of the markets API: coins out, query parameters in."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from markets.models import Coin
from markets.timeframes import TIMEFRAME_SECONDS


class CoinSerializer(serializers.ModelSerializer):
    change24h = serializers.FloatField(source="change_24h", help_text="Percent change over 24 hours.")
    volume24h = serializers.FloatField(source="volume_24h", help_text="Quote (USDT) volume over 24 hours.")
    high24h = serializers.FloatField(source="high_24h")
    low24h = serializers.FloatField(source="low_24h")

    class Meta:
        model = Coin
        fields = [
            "symbol",
            "name",
            "rank",
            "price",
            "change24h",
            "volume24h",
            "high24h",
            "low24h",
            "market_cap",
            "circulating_supply",
            "updated_at",
        ]


@extend_schema_field(OpenApiTypes.STR)
class TimestampField(serializers.Field):
    """An instant as ISO 8601 (UTC when no offset) or Unix time in seconds or milliseconds."""

    default_error_messages = {"invalid": "Must be an ISO 8601 date-time or a Unix time in seconds or milliseconds."}

    def to_internal_value(self, data) -> datetime:
        text = str(data).strip()
        try:
            if text.isdigit():
                number = int(text)
                return datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
            parsed = parse_datetime(text)
        except (ValueError, OverflowError, OSError):
            parsed = None
        if parsed is None:
            self.fail("invalid")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class CandleQuerySerializer(serializers.Serializer):
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAME_SECONDS), default="1h")
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)
    start = TimestampField(required=False, help_text="Earliest bar open time (inclusive).")
    end = TimestampField(required=False, help_text="Latest bar open time (inclusive).")

    def validate(self, attrs: dict) -> dict:
        if "start" in attrs and "end" in attrs and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": ["Must not be later than end."]})
        return attrs


class CandleSerializer(serializers.Serializer):
    time = serializers.IntegerField(help_text="Bar open time, Unix seconds (UTC).")
    open = serializers.FloatField()
    high = serializers.FloatField()
    low = serializers.FloatField()
    close = serializers.FloatField()
    volume = serializers.FloatField(help_text="Volume in the base asset.")


class OrderBookQuerySerializer(serializers.Serializer):
    depth = serializers.IntegerField(min_value=1, max_value=100, default=20)


class OrderBookSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    ts = serializers.IntegerField(help_text="Exchange time, Unix milliseconds.")
    bids = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), help_text="[price, qty]")
    asks = serializers.ListField(child=serializers.ListField(child=serializers.FloatField()), help_text="[price, qty]")


class TradeQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)


class TradeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    price = serializers.FloatField()
    qty = serializers.FloatField()
    side = serializers.ChoiceField(choices=["buy", "sell"], help_text="The taker's side.")
    ts = serializers.IntegerField(help_text="Unix milliseconds.")
