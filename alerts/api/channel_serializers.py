"""Serializers of the notifications API's channels and deliveries. Channels are checked by
``alerts.channels`` (as the settings page checks them), so these describe the answers for the schema
and answer through the selectors' JSON; the deliveries' query is read here."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.api.channel_docs import QUIET_HOURS
from alerts.api.docs import one_of_values
from alerts.models import Channel, Delivery
from alerts.selectors import channel_as_json, delivery_as_json


@extend_schema_field(QUIET_HOURS)
class QuietHoursField(serializers.JSONField):
    """``{"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"}`` or null."""


@extend_schema_field(one_of_values(Channel.Kind.values))
class ChannelKindField(serializers.CharField):
    """A channel's kind; not a ChoiceField, whose enum would take a name shared with other kinds'. (Give it
    a help_text: alone, its allOf is unwrapped into an enum the schema's post-processing renames.)"""


@extend_schema_field(one_of_values(Delivery.State.values))
class DeliveryStateField(serializers.CharField):
    """A delivery's state (not a ChoiceField, for the same reason)."""


class ChannelSerializer(serializers.Serializer):
    """A channel as the API answers it: its kind's fields only (address; chat_id; url and body; url)."""

    id = serializers.IntegerField()
    kind = ChannelKindField(help_text="email, telegram, webhook or apprise.")
    name = serializers.CharField()
    address = serializers.CharField(required=False, help_text="email channels.")
    chat_id = serializers.CharField(required=False, help_text="telegram channels.")
    url = serializers.CharField(required=False, help_text="webhook and apprise channels.")
    body = serializers.CharField(required=False, help_text="webhook channels: the body template.")
    secret = serializers.CharField(
        required=False, help_text="webhook channels, in the create answer only: the signing key (whsec_…)."
    )
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why a permanent delivery error disabled it; empty otherwise.")
    quiet_hours = QuietHoursField(allow_null=True)
    created_at = serializers.DateTimeField()

    def to_representation(self, channel: Channel) -> dict:
        return channel_as_json(channel)


class ChannelTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="The service accepted the test message.")
    error = serializers.CharField(allow_null=True, help_text="What the service (or the network) said; null when ok.")
    permanent = serializers.BooleanField(help_text="Retrying cannot help: fix the address, chat or URL.")
    latency_ms = serializers.IntegerField(help_text="How long the send took.")


class DeliverySerializer(serializers.Serializer):
    """One delivery of a firing to a channel."""

    id = serializers.IntegerField()
    channel = serializers.IntegerField()
    channel_kind = ChannelKindField(help_text="The channel's kind.")
    alert = serializers.IntegerField(allow_null=True)
    event = serializers.IntegerField(help_text="The firing (GET /api/alerts/{id}/history lists them).")
    symbol = serializers.CharField()
    message = serializers.CharField(help_text="The firing's message.")
    state = DeliveryStateField(
        help_text="pending (new, held by quiet hours, or paced), sending, sent, failed (retries at "
        "next_attempt_at), dead (a permanent error, too old, or retries spent)."
    )
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    held = serializers.BooleanField(help_text="Held by the channel's quiet hours, for the digest.")
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True, help_text="From the firing to the hand-off.")
    replay_of = serializers.IntegerField(allow_null=True, help_text="The delivery this one replays.")
    webhook_id = serializers.CharField(help_text="The webhook-id header: the same on retries and replays.")

    def to_representation(self, delivery: Delivery) -> dict:
        return delivery_as_json(delivery)


class TelegramConnectSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Send /start <code> to the bot (the link does).")
    link = serializers.CharField(help_text="https://t.me/<bot>?start=<code>")
    expires_at = serializers.DateTimeField()
