"""Writes of the providers app: provider configurations (secrets encrypted), their budget, the
connection test and the model list, and the re-encryption of every credential with the newest key."""

from __future__ import annotations

import json
import time

from django.db import transaction

from providers.adapters import adapter_for
from providers.adapters.base import Message, ProviderError, TextDelta
from providers.completion import Charged, Served, completion_stream
from providers.config_fields import ProviderInvalid, provider_clean
from providers.crypto import key_hint, secrets_decrypt, secrets_encrypt, secrets_rotate
from providers.models import ProviderConfig
from providers.selectors import provider_credentials

TEST_PROMPT = "Reply with the single word: OK"


def provider_create(*, user, data) -> ProviderConfig:
    """A new provider of ``user`` (None: the operator's, for everyone) from the API's or a form's fields."""
    fields, secrets = provider_clean(data=data)
    config = ProviderConfig(user=user, **fields)
    provider_secrets_store(config=config, given=secrets)
    config.save()
    return config


def provider_update(*, config: ProviderConfig, data, partial: bool) -> ProviderConfig:
    """Change ``config``: PUT (``partial`` False) takes every field again, secrets left out are kept."""
    fields, secrets = provider_clean(data=data, instance=config, partial=partial)
    if fields.get("kind", config.kind) != config.kind:
        config.secrets = ""  # another provider's keys mean nothing to this one
    for name, value in fields.items():
        setattr(config, name, value)
    provider_secrets_store(config=config, given=secrets)
    config.save()
    return config


def provider_secrets_store(*, config: ProviderConfig, given: dict) -> None:
    merged = {**secrets_decrypt(config.secrets), **{name: value for name, value in given.items() if value}}
    config.secrets = secrets_encrypt(merged)
    config.key_hint = key_hint(merged.get("api_key") or merged.get("aws_access_key_id") or _account_email(merged))


def _account_email(secrets: dict) -> str:
    account = secrets.get("google_credentials_json")
    return json.loads(account).get("client_email", "") if account else ""


def provider_delete(*, config: ProviderConfig) -> None:
    """Delete ``config``; its usage records stay (with its name) for the spend history."""
    config.delete()


def provider_budget_set(*, config: ProviderConfig, data) -> ProviderConfig:
    """``PUT .../budget`` ``{"monthly_usd": "25.00", "block": true}``; ``monthly_usd`` null for no budget."""
    if not isinstance(data, dict):
        raise ProviderInvalid({"non_field_errors": ['Must be a JSON object: {"monthly_usd": "25.00", "block": true}.']})
    unknown = {
        name: ["Unknown field; allowed: monthly_usd, block."] for name in data if name not in ("monthly_usd", "block")
    }
    if "monthly_usd" not in data:
        unknown["monthly_usd"] = ["Required: USD a month as a decimal string, or null for no budget."]
    if unknown:
        raise ProviderInvalid(unknown)
    fields = {"monthly_budget_usd": data["monthly_usd"]}
    if "block" in data:
        fields["block_at_budget"] = data["block"]
    try:
        cleaned, _ = provider_clean(data={"kind": config.kind, **fields}, instance=config, partial=True)
    except ProviderInvalid as invalid:
        names = {"monthly_budget_usd": "monthly_usd", "block_at_budget": "block"}
        raise ProviderInvalid({names.get(k, k): v for k, v in invalid.extra.items()}) from None
    with transaction.atomic():
        config.monthly_budget_usd = cleaned["monthly_budget_usd"]
        config.block_at_budget = cleaned.get("block_at_budget", config.block_at_budget)
        config.save(update_fields=["monthly_budget_usd", "block_at_budget", "updated_at"])
    return config


def provider_test(*, config: ProviderConfig, user, model: str | None = None) -> dict:
    """A minimal real request through ``config`` (recorded and charged like any other):
    ``{"ok", "latency_ms", "model", "reply", "error"}`` with the provider's error in words."""
    started = time.perf_counter()
    reply, served_model, cost, error = [], model or config.model, None, None
    try:
        for event in completion_stream(
            user=user, messages=[Message("user", TEST_PROMPT)], provider_id=config.pk, model=model, max_tokens=16,
            only=True,
        ):  # fmt: skip
            if isinstance(event, Served):
                served_model = event.model
            elif isinstance(event, TextDelta):
                reply.append(event.text)
            elif isinstance(event, Charged):
                cost = event.cost_usd
    except ProviderError as failed:
        error = failed.message
    return {
        "ok": error is None,
        "latency_ms": round((time.perf_counter() - started) * 1000),
        "model": served_model,
        "reply": "".join(reply)[:200],
        "cost_usd": None if cost is None else format(cost.normalize(), "f") if cost else "0",
        "error": error,
    }


def provider_models(*, config: ProviderConfig) -> list[str]:
    """The provider's model list for these credentials (raises ProviderError with the provider's words)."""
    adapter = adapter_for(kind=config.kind, base_url=config.base_url, credentials=provider_credentials(config))
    return adapter.list_models()


def provider_models_preview(*, data) -> list[str]:
    """The model list for credentials not yet saved (the add wizard's model step); raises ProviderInvalid
    for bad fields and ProviderError with the provider's words."""
    fields, secrets = provider_clean(data={"model": "-", **data}, partial=False)
    config = ProviderConfig(**fields)
    provider_secrets_store(config=config, given=secrets)
    adapter = adapter_for(kind=config.kind, base_url=config.base_url, credentials=provider_credentials(config))
    return adapter.list_models()


def providers_rotate_keys() -> int:
    """Re-encrypt every stored credential with the first FIELD_ENCRYPTION_KEYS key; answers how many."""
    count = 0
    with transaction.atomic():
        for config in ProviderConfig.objects.select_for_update().exclude(secrets=""):
            config.secrets = secrets_rotate(config.secrets)
            config.save(update_fields=["secrets"])
            count += 1
    return count
