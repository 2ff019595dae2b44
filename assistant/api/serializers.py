"""Serializers of the assistant API, for its OpenAPI schema (answers are built by assistant.selectors)."""

from __future__ import annotations

from rest_framework import serializers

ID_MAX = 2**63 - 1  # what the database's ids hold


class ChatRequestSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=8000, help_text="What to ask.")
    conversation_id = serializers.IntegerField(
        required=False, min_value=1, max_value=ID_MAX, help_text="Continue this conversation."
    )
    provider_id = serializers.IntegerField(
        required=False, min_value=1, max_value=ID_MAX, help_text="Default: your first provider."
    )
    model = serializers.CharField(required=False, max_length=200, help_text="Default: the provider's model.")


class ToolCallSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    arguments = serializers.JSONField()
    ok = serializers.BooleanField(allow_null=True)
    result = serializers.JSONField()
    links = serializers.ListField(child=serializers.DictField(), allow_null=True)
    action = serializers.DictField(allow_null=True, help_text="The audit record of a change: id, state, undo.")


class ChatMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField(help_text="user or assistant")
    content = serializers.CharField()
    tool_calls = ToolCallSerializer(many=True)
    provider = serializers.CharField()
    model = serializers.CharField()
    input_tokens = serializers.IntegerField()
    cached_input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_usd = serializers.CharField(allow_null=True, help_text="USD, exact; null when a price is unknown.")
    latency_ms = serializers.IntegerField(allow_null=True)
    incomplete = serializers.BooleanField(help_text="The stream was cut or stopped; what came is kept.")
    error = serializers.CharField()
    created_at = serializers.DateTimeField()


class ConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ConversationDetailSerializer(ConversationSerializer):
    messages = ChatMessageSerializer(many=True)


class ConversationRenameSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)


class AssistantSettingsSerializer(serializers.Serializer):
    ask_before_acting = serializers.BooleanField(
        help_text="Tools that change your data (create_alert, add_to_watchlist) propose; you confirm."
    )


class ToolActionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tool = serializers.CharField()
    state = serializers.CharField(help_text="done, proposed, undone or declined")
    arguments = serializers.JSONField()
    result = serializers.JSONField()
