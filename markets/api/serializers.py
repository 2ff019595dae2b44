"""Serializers of the markets API: coins and analyses out, query parameters in."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from markets.analysis.params import (
    BOUNDS,
    DEFAULT_BARS,
    DEFAULT_PARAMS,
    HISTORY_BARS,
    MAX_MOVING_AVERAGES,
    AnalysisParams,
)
from markets.analysis.patterns import CONFIDENCE_THRESHOLD, PATTERN_KINDS
from markets.models import Coin
from markets.timeframes import TIMEFRAME_SECONDS


class CoinSerializer(serializers.ModelSerializer):
    change24h = serializers.FloatField(source="change_24h", help_text="Percent change over 24 hours.")
    volume24h = serializers.FloatField(source="volume_24h", help_text="Quote (USDT) volume over 24 hours.")
    high24h = serializers.FloatField(source="high_24h")
    low24h = serializers.FloatField(source="low_24h")
    age = serializers.SerializerMethodField(
        help_text="How old the price and 24h figures are: seconds from updated_at (when the feed last wrote "
        "them) to this answer. About a second while the feed runs and the coin trades; it grows while either stops."
    )

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
            "age",
        ]

    def get_age(self, coin: Coin) -> float:
        if not hasattr(self, "_answered_at"):
            self._answered_at = time.time()  # one instant for every coin of the answer
        # Not below zero when the feed's host clock runs a little ahead of this one.
        return max(0.0, round(self._answered_at - coin.updated_at.timestamp(), 1))


# Every instant a client names is within these (UTC), so that no conversion or database can overflow:
# SQLite's datetime adapter raised OverflowError for 0001-01-01T00:00:00+14:00.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
LATEST_UNIX = 253_402_300_799.999  # LATEST.timestamp() rounds up to year 10000


# In the schema: a date-time (its bounds in words: JSON Schema has none for dates) or a Unix time,
# any integer up to the last millisecond of 9999 being one (seconds up to 10**11, then milliseconds).
@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "integer", "minimum": 0, "maximum": 253_402_300_799_999},
        ]
    }
)
class TimestampField(serializers.Field):
    """An instant as ISO 8601 (UTC when no offset) or Unix time in seconds or milliseconds, from
    1970 to 9999 (UTC)."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 date-time or a Unix time in seconds or milliseconds.",
        "range": "Must be from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (Unix seconds 0 to 253402300799).",
    }

    def to_internal_value(self, data) -> datetime:
        text = str(data).strip()
        if text.isascii() and text.isdigit():  # not "²", which isdigit() takes and int() refuses
            number = int(text) if len(text) <= 20 else 10**20
            return self._bounded_unix(number / 1000 if number > 10**11 else number)
        try:
            parsed = parse_datetime(text)
        except ValueError:  # well-formed but impossible, e.g. month 13 or offset +25:00
            parsed = None
        if parsed is None:
            self.fail("invalid")
        try:
            moment = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:  # year 0 or 10000 once the offset is taken off
            self.fail("range")
        if not EARLIEST <= moment <= LATEST:
            self.fail("range")
        return moment

    def _bounded_unix(self, seconds: float) -> datetime:
        if not 0 <= seconds <= LATEST_UNIX:
            self.fail("range")
        return datetime.fromtimestamp(seconds, UTC)

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


INSTANTS = (
    "ISO 8601 (UTC when no offset) or Unix time in seconds or milliseconds, "
    "from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z."
)


class CandleQuerySerializer(serializers.Serializer):
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAME_SECONDS), default="1h")
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)
    start = TimestampField(required=False, help_text=f"Earliest bar open time (inclusive). {INSTANTS}")
    end = TimestampField(required=False, help_text=f"Latest bar open time (inclusive). {INSTANTS}")

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


# --- technical analysis ------------------------------------------------------------------------


class CommaSeparatedField(serializers.Field):
    """A list given as comma-separated values (``9,21,50``), each checked by ``child``; repeats dropped."""

    default_error_messages = {
        "empty": "Give at least one value, separated by commas.",
        "empty_item": "An item of the list is empty: give values separated by single commas, e.g. 9,21.",
        "too_many": "Give at most {max_items} values.",
    }

    def __init__(self, *, child: serializers.Field, max_items: int, **kwargs):
        super().__init__(**kwargs)
        self.child, self.max_items = child, max_items

    def to_internal_value(self, data) -> list:
        items = [part.strip() for part in str(data).split(",")]
        if not any(items):
            self.fail("empty")
        if "" in items:  # "9,,21" or "9,": a typo to point out, not a shorter list
            self.fail("empty_item")
        if len(items) > self.max_items:
            self.fail("too_many", max_items=self.max_items)
        values = []
        for item in items:
            try:
                value = self.child.run_validation(item)
            except serializers.ValidationError as error:
                raise serializers.ValidationError([f"{item}: {message}" for message in error.detail]) from None
            if value not in values:
                values.append(value)
        return values

    def to_representation(self, value: list) -> list:
        return list(value)


class CommaSeparatedFieldExtension(OpenApiSerializerFieldExtension):
    """In the schema, an array of what ``child`` takes, sent as one comma-separated value."""

    target_class = CommaSeparatedField

    def map_serializer_field(self, auto_schema, direction: str) -> dict:
        items = auto_schema._map_serializer_field(self.target.child, direction)
        return {"type": "array", "items": items, "minItems": 1, "maxItems": self.target.max_items}


def _analysis_param(name: str, help_text: str) -> serializers.Field:
    """A field for one analysis parameter, bounded as ``markets.analysis.params.BOUNDS`` says."""
    low, high = BOUNDS[name]
    default = getattr(DEFAULT_PARAMS, name)
    if isinstance(default, tuple):
        child = serializers.IntegerField(min_value=low, max_value=high)
        return CommaSeparatedField(
            child=child, max_items=MAX_MOVING_AVERAGES, default=list(default), help_text=f"{help_text} ({low}-{high})"
        )
    field = serializers.FloatField if isinstance(default, float) else serializers.IntegerField
    return field(min_value=low, max_value=high, default=default, help_text=f"{help_text} ({low}-{high}).")


class PatternQuerySerializer(serializers.Serializer):
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAME_SECONDS), default="1h")
    min_confidence = serializers.FloatField(
        min_value=0, max_value=1, default=CONFIDENCE_THRESHOLD, help_text="Patterns at least this confident (0-1)."
    )
    bars = serializers.IntegerField(
        min_value=HISTORY_BARS[0], max_value=HISTORY_BARS[1], default=DEFAULT_BARS, help_text="Closed bars analysed."
    )


class AnalysisQuerySerializer(serializers.Serializer):
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAME_SECONDS), default="1h")
    timeframes = CommaSeparatedField(
        child=serializers.ChoiceField(choices=list(TIMEFRAME_SECONDS)),
        max_items=len(TIMEFRAME_SECONDS),
        required=False,
        help_text="Several timeframes at once, e.g. 1h,4h,1d (instead of timeframe).",
    )
    series = serializers.BooleanField(default=False, help_text="Add the bars and every series, for charting.")
    bars = serializers.IntegerField(
        min_value=HISTORY_BARS[0], max_value=HISTORY_BARS[1], default=DEFAULT_BARS, help_text="Closed bars analysed."
    )
    rsi_length = _analysis_param("rsi_length", "RSI length")
    macd_fast = _analysis_param("macd_fast", "MACD fast EMA length")
    macd_slow = _analysis_param("macd_slow", "MACD slow EMA length")
    macd_signal = _analysis_param("macd_signal", "MACD signal line length")
    bb_length = _analysis_param("bb_length", "Bollinger bands length")
    bb_std = _analysis_param("bb_std", "Bollinger bands width in standard deviations")
    sma = _analysis_param("sma", "SMA lengths, comma-separated")
    ema = _analysis_param("ema", "EMA lengths, comma-separated")
    atr_length = _analysis_param("atr_length", "ATR length")
    stoch_k = _analysis_param("stoch_k", "Stochastic %K length")
    stoch_d = _analysis_param("stoch_d", "Stochastic %D smoothing")
    stoch_smooth = _analysis_param("stoch_smooth", "Stochastic %K smoothing")
    volume_sma = _analysis_param("volume_sma", "Volume SMA length")
    swing_window = _analysis_param("swing_window", "Swing levels: bars each side of a swing high or low")
    level_tolerance = _analysis_param("level_tolerance", "Swing levels: cluster width in ATRs")

    def validate(self, attrs: dict) -> dict:
        if attrs["macd_fast"] >= attrs["macd_slow"]:
            raise serializers.ValidationError({"macd_fast": [f"Must be less than macd_slow ({attrs['macd_slow']})."]})
        if "timeframes" in attrs and "timeframe" in self.initial_data:
            raise serializers.ValidationError({"timeframes": ["Give timeframe or timeframes, not both."]})
        return attrs

    @staticmethod
    def analysis_params(attrs: dict) -> AnalysisParams:
        """The validated parameters as the analysis takes them."""
        values = {name: attrs[name] for name in BOUNDS}
        return AnalysisParams(**{**values, "sma": tuple(values["sma"]), "ema": tuple(values["ema"])})


class ScreenerQuerySerializer(serializers.Serializer):
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAME_SECONDS), default="1h")
    rsi_below = serializers.FloatField(min_value=0, max_value=100, required=False, help_text="Latest RSI (14) under.")
    rsi_above = serializers.FloatField(min_value=0, max_value=100, required=False, help_text="Latest RSI (14) over.")
    pattern = serializers.ChoiceField(choices=list(PATTERN_KINDS), required=False, help_text="A live chart pattern.")
    min_confidence = serializers.FloatField(
        min_value=0, max_value=1, default=CONFIDENCE_THRESHOLD, help_text="Confidence the pattern needs (0-1)."
    )
    min_volume = serializers.FloatField(
        min_value=0, max_value=1e15, required=False, help_text="24h quote (USDT) volume at least."
    )

    def validate(self, attrs: dict) -> dict:
        below, above = attrs.get("rsi_below"), attrs.get("rsi_above")
        if below is not None and above is not None and above >= below:
            raise serializers.ValidationError({"rsi_above": [f"Must be less than rsi_below ({below:g})."]})
        return attrs


class IndicatorValueSerializer(serializers.Serializer):
    value = serializers.JSONField(help_text="A number, an object of numbers (MACD, bands, stochastic) or null.")
    reason = serializers.CharField(required=False, help_text="Why the value is null, e.g. 'needs 201 closed bars'.")


class SignalSerializer(serializers.Serializer):
    indicator = serializers.CharField()
    signal = serializers.ChoiceField(choices=["buy", "sell", "neutral"])
    reason = serializers.CharField()
    votes = serializers.BooleanField(help_text="Whether it counts towards the verdict (ATR and volume do not).")


class SummarySerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=["strong_buy", "buy", "neutral", "sell", "strong_sell"])
    score = serializers.FloatField(help_text="(buy - sell) / voting signals, -1 to 1.")
    buy = serializers.IntegerField()
    sell = serializers.IntegerField()
    neutral = serializers.IntegerField()
    signals = SignalSerializer(many=True)


class SuggestionSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="e.g. 'RSI is 72: be told when it falls back below 70?'")
    condition = serializers.JSONField(help_text="{indicator, operator, value, timeframe}: what an alert would watch.")


class AnalysisSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    time = serializers.IntegerField(allow_null=True, help_text="Open time of the latest bar, Unix seconds.")
    forming = serializers.BooleanField(help_text="Whether the latest bar is the forming one (values move with it).")
    closed_bars = serializers.IntegerField(help_text="Closed bars the indicators were computed over.")
    closed_time = serializers.IntegerField(allow_null=True, help_text="Open time of the last closed bar.")
    price = serializers.FloatField(allow_null=True, help_text="Close of the latest bar.")
    indicators = serializers.DictField(child=IndicatorValueSerializer())
    levels = serializers.JSONField(help_text="pivots (previous day/week/month), support and resistance swing levels.")
    summary = SummarySerializer()
    suggestions = SuggestionSerializer(many=True)
    params = serializers.JSONField()
    series = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField(allow_null=True)),
        required=False,
        help_text="With series=true: time, open, high, low, close, volume and every indicator series, aligned.",
    )


class AnalysesSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframes = serializers.DictField(child=AnalysisSerializer(), help_text="With timeframes=: one per timeframe.")


class PatternSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(PATTERN_KINDS))
    direction = serializers.ChoiceField(choices=["bullish", "bearish", "neutral"])
    confidence = serializers.FloatField()
    start_time = serializers.IntegerField()
    end_time = serializers.IntegerField()
    points = serializers.ListField(child=serializers.JSONField(), help_text="[time, price, label] key points.")
    breakout = serializers.FloatField()
    target = serializers.FloatField(help_text="The measured move from the breakout.")


class PatternsSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    timeframe = serializers.CharField()
    min_confidence = serializers.FloatField()
    patterns = PatternSerializer(many=True)


class ScreenerRowSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    rank = serializers.IntegerField()
    price = serializers.FloatField(allow_null=True)
    change24h = serializers.FloatField()
    volume24h = serializers.FloatField()
    rsi = serializers.FloatField(allow_null=True)
    verdict = serializers.CharField()
    patterns = PatternSerializer(many=True)


class ScreenerSerializer(serializers.Serializer):
    timeframe = serializers.CharField()
    count = serializers.IntegerField()
    results = ScreenerRowSerializer(many=True)
