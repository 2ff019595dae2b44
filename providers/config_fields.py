"""The fields of a provider configuration as the API and the settings pages take them, each checked.

``provider_clean`` answers the model fields and the secrets to store, or raises ``ProviderInvalid``
naming every bad field and what is allowed. Secrets are never echoed in an error.
"""

from __future__ import annotations

import json
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.api.serializers import ClosedSerializer
from providers.models import ProviderConfig
from scalpaiboard.api import ApplicationError

KINDS = tuple(ProviderConfig.Kind.values)
SECRET_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "google_credentials_json")
READ_ONLY = ("id", "has_key", "key_hint", "month_spent_usd", "shared", "created_at", "updated_at")
AWS_REGION = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
HTTP_URL = r"^https?://[^\s/?#@:]+(:\d{1,5})?([/?#]\S*)?$"
BASE_URL_MESSAGE = "Must be an http:// or https:// URL, or empty for the provider's own address."
SERVICE_ACCOUNT_KEYS = ("client_email", "private_key", "token_uri")


class ProviderInvalid(ApplicationError):
    def __init__(self, errors: dict):
        super().__init__("Invalid provider: see the fields.", extra=errors)


@extend_schema_field({"type": "string", "pattern": HTTP_URL, "maxLength": 500})
class BaseUrlField(serializers.RegexField):
    """An http(s) URL or "" (the schema states the pattern: drf-spectacular drops it with allow_blank)."""


@extend_schema_field({"type": "string", "pattern": AWS_REGION, "maxLength": 32})
class AwsRegionField(serializers.RegexField):
    """An AWS region's name or ""."""


class OptionalDecimal(serializers.DecimalField):
    """A decimal string, or ""/null for none."""

    def to_internal_value(self, data):
        return None if data in ("", None) else super().to_internal_value(data)


# Not negative, as the fields' minimum of 0 says (drf-spectacular's pattern of a decimal string allows "-").
@extend_schema_field({"type": "string", "pattern": r"^(\d{1,8}(\.\d{0,6})?|\.\d{1,6})?$", "nullable": True})
class PriceField(OptionalDecimal):
    """USD per million tokens: up to 8 digits before the point and 6 after."""


@extend_schema_field({"type": "string", "pattern": r"^(\d{1,10}(\.\d{0,2})?|\.\d{1,2})?$", "nullable": True})
class BudgetField(OptionalDecimal):
    """USD a month, to the cent."""


def _price(help_text: str) -> PriceField:
    return PriceField(
        max_digits=14, decimal_places=6, min_value=Decimal(0), required=False, allow_null=True, help_text=help_text
    )


class ProviderFieldsSerializer(ClosedSerializer):
    """What a client may send. Secrets are write-only: answers carry has_key and key_hint instead."""

    kind = serializers.ChoiceField(
        choices=KINDS, error_messages={"invalid_choice": f"Must be one of: {', '.join(KINDS)}."}
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    model = serializers.CharField(max_length=200, help_text="The default model, e.g. gpt-4o-mini.")
    base_url = BaseUrlField(
        HTTP_URL, max_length=500, required=False, allow_blank=True,
        error_messages={"invalid": BASE_URL_MESSAGE}, help_text="Empty: the provider's own address.",
    )  # fmt: skip
    api_key = serializers.CharField(max_length=500, required=False, write_only=True, trim_whitespace=True)
    aws_access_key_id = serializers.CharField(max_length=128, required=False, write_only=True)
    aws_secret_access_key = serializers.CharField(max_length=256, required=False, write_only=True)
    aws_region = AwsRegionField(
        AWS_REGION, max_length=32, required=False, allow_blank=True,
        error_messages={"invalid": "Must be an AWS region such as us-east-1."},
    )  # fmt: skip
    google_project = serializers.CharField(max_length=100, required=False, allow_blank=True)
    google_location = serializers.CharField(max_length=64, required=False, allow_blank=True)
    google_credentials_json = serializers.CharField(max_length=20000, required=False, write_only=True)
    monthly_budget_usd = BudgetField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True,
        help_text="USD a month; null or empty for no budget.",
    )  # fmt: skip
    block_at_budget = serializers.BooleanField(required=False)
    priority = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    enabled = serializers.BooleanField(required=False)
    price_input_per_mtok = _price("USD per million input tokens; empty: genai-prices' price.")
    price_cached_input_per_mtok = _price("USD per million cached input tokens; empty: genai-prices' price.")
    price_output_per_mtok = _price("USD per million output tokens; empty: genai-prices' price.")

    def validate_base_url(self, value: str) -> str:
        return value.rstrip("/")

    def validate_google_credentials_json(self, value: str) -> str:
        try:
            account = json.loads(value)
        except ValueError:
            raise serializers.ValidationError("Must be the service account's JSON key file.") from None
        if not isinstance(account, dict) or any(not account.get(key) for key in SERVICE_ACCOUNT_KEYS):
            raise serializers.ValidationError(
                f"Must be a service account JSON key with {', '.join(SERVICE_ACCOUNT_KEYS)}."
            )
        return value


def provider_clean(*, data, instance: ProviderConfig | None = None, partial: bool = False) -> tuple[dict, dict]:
    """(model fields, secrets given) of ``data``, checked as a whole against what ``instance`` holds."""
    if not isinstance(data, dict):
        raise ProviderInvalid({"non_field_errors": ['Must be a JSON object, e.g. {"kind": "openai", ...}.']})
    unknown = {
        ("non_field_errors" if name in ("detail", "request_id") else name): [_unknown(name)]
        for name in data
        if name not in ProviderFieldsSerializer().fields
    }
    checked = ProviderFieldsSerializer(data=data, partial=partial)
    errors = {**unknown, **(checked.errors if not checked.is_valid() else {})}
    if errors:
        raise ProviderInvalid(errors)
    fields = dict(checked.validated_data)
    secrets = {name: fields.pop(name) for name in SECRET_FIELDS if name in fields}
    errors = _credentials_errors(fields, secrets, instance)
    if errors:
        raise ProviderInvalid(errors)
    if not partial and not fields.get("name"):
        fields["name"] = ProviderConfig.Kind(fields["kind"]).label
    return fields, secrets


def _unknown(name: str) -> str:
    if name in READ_ONLY:
        return f"{name} is read-only: leave it out (the answer tells it)."
    shown = name if len(name) <= 40 else name[:40] + "…"
    return f"Unknown field {shown!r}; allowed: {', '.join(ProviderFieldsSerializer().fields)}."


def _credentials_errors(fields: dict, secrets: dict, instance: ProviderConfig | None) -> dict:
    """What the kind needs and is missing: a key, AWS keys and region, or Google's key or Vertex project."""
    kind = fields.get("kind") or instance.kind
    stored = set(_stored_secret_names(instance)) if instance is not None and instance.kind == kind else set()
    have = stored | {name for name, value in secrets.items() if value}

    def value(name: str) -> str:
        return fields.get(name, getattr(instance, name, "") if instance is not None else "")

    if kind == "bedrock":
        required = {
            "aws_access_key_id": "aws_access_key_id" in have,
            "aws_secret_access_key": "aws_secret_access_key" in have,
            "aws_region": bool(value("aws_region")),
        }
        return {name: [f"Required for {kind}."] for name, ok in required.items() if not ok}
    if kind == "google":
        vertex = bool(value("google_project") or value("google_location") or "google_credentials_json" in have)
        if "api_key" in have and not vertex:
            return {}
        if not vertex:
            return {
                "api_key": [
                    "Required for google: a Gemini API key, or a Vertex project, location and service account JSON."
                ]
            }
        required = {
            "google_project": bool(value("google_project")),
            "google_location": bool(value("google_location")),
            "google_credentials_json": "google_credentials_json" in have,
        }
        return {name: ["Required for Vertex AI."] for name, ok in required.items() if not ok}
    if kind != "ollama" and "api_key" not in have:
        return {"api_key": [f"Required for {kind}: the provider's API key."]}
    return {}


def _stored_secret_names(instance: ProviderConfig) -> list[str]:
    from providers.crypto import secrets_decrypt

    return list(secrets_decrypt(instance.secrets))
