"""Serializers of the providers API, for its OpenAPI schema: answers are built by the selectors
(providers.selectors) and bodies checked by providers.config_fields, as for the pages."""

from __future__ import annotations

from rest_framework import serializers

from alerts.api.serializers import ClosedSerializer
from providers.config_fields import ProviderFieldsSerializer


class ProviderSerializer(ProviderFieldsSerializer):
    """A provider as the API answers it: no secret ever, only has_key and key_hint."""

    id = serializers.IntegerField(read_only=True)
    has_key = serializers.BooleanField(read_only=True, help_text="Credentials are stored (encrypted).")
    key_hint = serializers.CharField(read_only=True, help_text="A mask of the key, like sk-…a1b2.")
    month_spent_usd = serializers.CharField(read_only=True, help_text="Spent this month (UTC), exact, in USD.")
    shared = serializers.BooleanField(
        read_only=True, help_text="The operator's provider, offered to every user (read-only here)."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class ProviderTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="The provider answered.")
    latency_ms = serializers.IntegerField()
    model = serializers.CharField()
    reply = serializers.CharField(help_text="What the model answered (cut to 200 characters).")
    cost_usd = serializers.CharField(allow_null=True, help_text="What the test cost; null when the price is unknown.")
    error = serializers.CharField(allow_null=True, help_text="The provider's error in words; null when ok.")


class ProviderModelsSerializer(serializers.Serializer):
    models = serializers.ListField(child=serializers.CharField(), help_text="Model ids, sorted.")


class ProviderBudgetSerializer(ClosedSerializer):
    monthly_usd = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, allow_null=True, help_text="USD a month; null: no budget."
    )
    block = serializers.BooleanField(required=False, help_text="Refuse requests once it is reached.")


class UsageBreakdownSerializer(serializers.Serializer):
    provider_id = serializers.IntegerField(allow_null=True, help_text="Null once the provider was deleted.")
    provider = serializers.CharField()
    kind = serializers.CharField()
    model = serializers.CharField()
    requests = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    cached_input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_usd = serializers.CharField(help_text="Exact, in USD (requests of unknown price count nothing).")
    unpriced_requests = serializers.IntegerField(help_text="Requests whose model has no known price.")


class UsageMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    cost_usd = serializers.CharField()
    requests = serializers.IntegerField()


class UsageBudgetSerializer(serializers.Serializer):
    provider_id = serializers.IntegerField()
    provider = serializers.CharField()
    monthly_budget_usd = serializers.CharField(allow_null=True)
    block_at_budget = serializers.BooleanField()
    spent_usd = serializers.CharField(help_text="The provider's spend this month (all its users, for a shared one).")
    remaining_usd = serializers.CharField(allow_null=True, help_text="Null: no budget.")


class UsageSummarySerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    total_spent = serializers.CharField(help_text="USD, exact.")
    total_requests = serializers.IntegerField()
    cost_breakdown = UsageBreakdownSerializer(many=True)
    monthly_trend = UsageMonthSerializer(many=True, help_text="The 12 months up to `month`, oldest first.")
    budgets = UsageBudgetSerializer(many=True)
