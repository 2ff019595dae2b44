"""Prices per million tokens and the exact cost of a request.

A configuration's own prices win; otherwise genai-prices' for the model at this provider. A price
tier (Gemini, Claude over 200k tokens) is picked by the request's prompt size, as the providers bill.
Cost = ((input - cached) * input price + cached * cached price + output * output price) / 10^6, in
Decimal: exact, so that the sum of recorded costs is the sum of tokens * prices to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import data_snapshot
from genai_prices.types import TieredPrices

from providers.adapters.base import Usage

MILLION = Decimal(1_000_000)

# Our provider kinds as genai-prices names them. Hugging Face's router serves many backends whose
# prices differ, and Ollama runs models on the user's own machine: neither has one list price.
GENAI_PRICES_PROVIDER = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "bedrock": "aws",
    "together": "together",
    "mistral": "mistral",
    "groq": "groq",
    "openrouter": "openrouter",
}


@dataclass(frozen=True)
class Prices:
    """USD per million tokens. ``cached_input`` defaults to ``input`` where the model has no cache price."""

    input: Decimal
    cached_input: Decimal
    output: Decimal


def list_prices(*, kind: str, model: str, input_tokens: int = 0) -> Prices | None:
    """genai-prices' prices of ``model`` at provider ``kind`` (the tier for ``input_tokens``); None when unknown."""
    if kind == "ollama":
        return Prices(Decimal(0), Decimal(0), Decimal(0))  # the user's own hardware: no charge per token
    provider_id = GENAI_PRICES_PROVIDER.get(kind)
    if provider_id is None or not model:
        return None
    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider_id, None)
    except LookupError:
        return None
    prices = info.get_prices(datetime.now(tz=UTC))
    if prices.input_mtok is None or prices.output_mtok is None:
        return None
    input_price = _tier(prices.input_mtok, input_tokens)
    cached = _tier(prices.cache_read_mtok, input_tokens) if prices.cache_read_mtok is not None else input_price
    return Prices(input_price, cached, _tier(prices.output_mtok, input_tokens))


def _tier(price: Decimal | TieredPrices, input_tokens: int) -> Decimal:
    if not isinstance(price, TieredPrices):
        return price
    chosen = price.base
    for tier in price.tiers:
        if input_tokens > tier.start:
            chosen = tier.price
    return chosen


def prices_for(config, *, model: str, input_tokens: int = 0) -> Prices | None:
    """The prices a request of ``config`` pays: its overrides, each falling back to the list price."""
    listed = list_prices(kind=config.kind, model=model, input_tokens=input_tokens)
    overrides = (config.price_input_per_mtok, config.price_cached_input_per_mtok, config.price_output_per_mtok)
    if listed is None and (overrides[0] is None or overrides[2] is None):
        return None
    input_price = overrides[0] if overrides[0] is not None else listed.input
    if overrides[1] is not None:
        cached = overrides[1]
    else:
        cached = listed.cached_input if listed is not None and overrides[0] is None else input_price
    output = overrides[2] if overrides[2] is not None else listed.output
    return Prices(input_price, cached, output)


def cost_of(usage: Usage, prices: Prices | None) -> Decimal | None:
    """The exact cost of ``usage`` at ``prices``; None when the price is unknown."""
    if prices is None:
        return None
    uncached = max(usage.input_tokens - usage.cached_input_tokens, 0)
    total = (
        uncached * prices.input + usage.cached_input_tokens * prices.cached_input + usage.output_tokens * prices.output
    )
    return total / MILLION
