"""Serializers of the alerts API. Alerts are checked by ``alerts.alert_fields.alert_clean`` (as the pages
and the assistant's tools check them), so the alert serializers here describe the shapes for the
schema and answer through the selectors' JSON; the small bodies of the other actions are read here."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.alert_fields import MAX_CHANNELS, MAX_COOLDOWN, MAX_IMPORT, MAX_TEXT, TIMEFRAMES
from alerts.api.docs import CONDITION_COMPONENTS, one_of_values
from alerts.models import Alert, Notification
from alerts.selectors import alert_as_json, event_as_json, notification_as_json

MAX_ID = 2**63 - 1
MAX_IDS = 1000


class ConditionField(serializers.JSONField):
    """An alert's condition: ``{"kind": ..., <its parameters>}`` (the AlertCondition schema)."""


class ConditionFieldExtension(OpenApiSerializerFieldExtension):
    """The condition as the components built from ``alerts.conditions``, registered once."""

    target_class = ConditionField

    def map_serializer_field(self, auto_schema, direction: str) -> dict:
        for name, schema in CONDITION_COMPONENTS.items():
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
            auto_schema.registry.register_on_missing(component)
        return {"$ref": "#/components/schemas/AlertCondition"}


def _ids(help_text: str, **kwargs) -> serializers.ListField:
    child = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    return serializers.ListField(child=child, min_length=1, max_length=MAX_IDS, help_text=help_text, **kwargs)


class ClosedSerializer(serializers.Serializer):
    """A body whose unknown fields are refused by name (by the service that reads it)."""


class AlertBodySerializer(ClosedSerializer):
    """An alert as POST /api/alerts takes it, and as an export holds it (no other field is taken)."""

    symbol = serializers.CharField(
        max_length=20,
        required=False,
        allow_null=True,
        help_text="A listed coin's base symbol, any case (BTC); or null, with watchlist. Exactly one of the two.",
    )
    watchlist = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The id of one of your watchlists: the alert applies to every coin on it. Exactly one of symbol "
        "and watchlist.",
    )
    condition = ConditionField()
    frequency = serializers.ChoiceField(
        choices=Alert.Frequency.values,
        default=Alert.Frequency.ONLY_ONCE,
        help_text="only_once, once_per_bar, once_per_bar_close or every_time: see the operation's description.",
    )
    timeframe = serializers.ChoiceField(
        choices=TIMEFRAMES, default="1m", help_text="The bars of once_per_bar(_close) and bar conditions."
    )
    cooldown = serializers.IntegerField(
        min_value=0, max_value=MAX_COOLDOWN, default=60, help_text="Seconds between two firings (every_time only)."
    )
    expires_at = serializers.DateTimeField(
        allow_null=True, default=None, help_text="After this instant (in the future) the alert is expired."
    )
    message = serializers.CharField(
        max_length=MAX_TEXT,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="The notification's text, with {{placeholders}}; empty: the default message.",
    )
    note = serializers.CharField(
        max_length=MAX_TEXT, allow_blank=True, trim_whitespace=False, default="", help_text="Yours; {{note}}."
    )
    channels = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=MAX_CHANNELS,
        default=list,
        help_text="Ids of your notification channels (GET /api/notifications/channels) each firing is delivered "
        "to, besides the in-app bell.",
    )
    urgent = serializers.BooleanField(default=False, help_text="Delivered during the channels' quiet hours too.")


class ClosedObjectExtension(OpenApiSerializerExtension):
    """Bodies whose unknown fields are refused by name say so: additionalProperties false."""

    target_class = ClosedSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction: str) -> dict:
        schema = auto_schema._map_basic_serializer(self.target, direction)
        return {**schema, "additionalProperties": False}


class BacktestSerializer(AlertBodySerializer):
    """An alert as POST /api/alerts takes it, and how many days of stored candles to replay."""

    days = serializers.IntegerField(min_value=1, max_value=365, default=30, help_text="Days of stored candles.")


class BacktestFiringSerializer(serializers.Serializer):
    time = serializers.DateTimeField(help_text="When it would have fired (a 1m close, or the bar's close).")
    price = serializers.FloatField()


class BacktestResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many times it would have fired.")
    firings = BacktestFiringSerializer(many=True, help_text="Oldest first.")
    days = serializers.IntegerField()
    replayed_on = serializers.CharField(
        help_text='"1m closes" (price conditions, replayed on the stored 1m closes) or "<timeframe> bars" '
        "(bar conditions and once_per_bar_close, at each stored bar's close)."
    )


class AlertSerializer(serializers.Serializer):
    """An alert as the API answers it: the body, its condition in words, and its state."""

    id = serializers.IntegerField()
    symbol = serializers.CharField(allow_null=True, help_text="The coin; null for an alert on a watchlist.")
    watchlist = serializers.IntegerField(allow_null=True, help_text="The watchlist's id; null for an alert on a coin.")
    condition = ConditionField()
    condition_text = serializers.CharField(help_text='The condition in words: "crosses up 101.5".')
    frequency = serializers.ChoiceField(choices=Alert.Frequency.values)
    timeframe = serializers.ChoiceField(choices=TIMEFRAMES)
    cooldown = serializers.IntegerField()
    expires_at = serializers.DateTimeField(allow_null=True)
    message = serializers.CharField()
    note = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Alert.Status.values,
        help_text="active; paused; triggered (an only_once alert that fired); expired; auto_paused (it fired more "
        "than 15 times in 3 minutes).",
    )
    created_at = serializers.DateTimeField()
    last_fired_at = serializers.DateTimeField(allow_null=True, help_text="Exchange time of the last firing.")
    fire_count = serializers.IntegerField()
    channels = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of its channels.")
    urgent = serializers.BooleanField()

    def to_representation(self, alert: Alert) -> dict:
        return alert_as_json(alert)


class AlertEventSerializer(serializers.Serializer):
    """One firing."""

    id = serializers.IntegerField()
    symbol = serializers.CharField(help_text="The coin it fired on (for a watchlist alert, one of the list's).")
    fired_at = serializers.DateTimeField(help_text="Exchange time of the update that fired it, or the bar's close.")
    price = serializers.FloatField()
    bar_open = serializers.DateTimeField(allow_null=True, help_text="Open time of the bar it fired in.")
    values = serializers.DictField(help_text="The readings that made it fire (rsi, macd, change, ...).")
    message = serializers.CharField(help_text="The message as it was sent.")

    def to_representation(self, event) -> dict:
        return event_as_json(event)


@extend_schema_field(one_of_values(Notification.Kind.values))
class NotificationKindField(serializers.CharField):
    """A notification's kind; not a ChoiceField, whose enum would take the name KindEnum from the patterns'."""


class NotificationSerializer(serializers.Serializer):
    """One in-app notification: an alert fired, or was auto-paused."""

    id = serializers.IntegerField()
    kind = NotificationKindField(help_text="fired, or auto_paused (it fired too often and was paused).")
    alert_id = serializers.IntegerField(allow_null=True, help_text="null once the alert is deleted.")
    symbol = serializers.CharField()
    message = serializers.CharField()
    price = serializers.FloatField(allow_null=True)
    fired_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    unread = serializers.BooleanField()

    def to_representation(self, notification) -> dict:
        return notification_as_json(notification)


class NotificationQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: only unread ones; false: only read ones."
    )


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["pause", "resume", "delete"])
    ids = _ids("Ids of your alerts; others' ids are ignored.")


class BulkResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    count = serializers.IntegerField(help_text="How many alerts changed (those already in that state did not).")


class ExportSerializer(serializers.Serializer):
    alerts = AlertBodySerializer(many=True)


class ImportSerializer(ClosedSerializer):
    """Alerts to create, all or none."""

    alerts = serializers.ListField(
        child=AlertBodySerializer(),
        min_length=1,
        max_length=MAX_IMPORT,
        help_text=f"1 to {MAX_IMPORT} alerts, as POST /api/alerts takes them.",
    )


class ImportResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    alerts = AlertSerializer(many=True)


class NotificationsReadSerializer(serializers.Serializer):
    ids = _ids("Ids of your notifications to mark read.", required=False)
    all = serializers.BooleanField(required=False, help_text="true: mark every notification read.")

    def validate(self, data: dict) -> dict:
        # Exactly one of the two, as the schema's oneOf says: {"ids": [...]} or {"all": true}.
        unknown = sorted(set(self.initial_data) - {"ids", "all"})
        if unknown:
            raise serializers.ValidationError(
                {field_key(name): ["Unknown field; allowed: ids or all."] for name in unknown}
            )
        if set(self.initial_data) != {"ids"} and (set(self.initial_data) != {"all"} or not data["all"]):
            raise serializers.ValidationError({"ids": ['Give either "ids": [...] or "all": true, alone.']})
        return data


def field_key(name: str) -> str:
    """The error key for an unknown field ``name``."""
    # "detail" is the answer's own message: an unknown field of that name is told about apart.
    return "non_field_errors" if name in ("detail", "request_id") else name


# The body as its schema (drf-spectacular would not say "one of the two").
NOTIFICATIONS_READ = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"ids": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}},
            "required": ["ids"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"all": {"type": "boolean", "enum": [True]}},
            "required": ["all"],
            "additionalProperties": False,
        },
    ]
}
NOTIFICATIONS_READ["oneOf"][0]["properties"]["ids"].update(minItems=1, maxItems=MAX_IDS)


class NotificationsReadResultSerializer(serializers.Serializer):
    read = serializers.IntegerField(help_text="How many were marked read now.")
    unread = serializers.IntegerField(help_text="How many are still unread.")
