"""One request to the user's AI providers, with budgets, usage records and fallback.

``completion_stream`` picks the provider (the one asked for, then the user's enabled providers by
priority), reserves the request's worst-case cost against its budget, streams the adapter's events,
and records what the request used and cost when it ends — also when it fails, is cut, or the caller
stops reading (a cancel). On a retryable failure before the first token it moves to the next
provider; after the first token it never switches silently: the error reaches the caller.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from providers import budgets, pricing
from providers.adapters import adapter_for
from providers.adapters.base import Message, Options, ProviderError, Stop, TextDelta, ToolCall, ToolSpec, Usage
from providers.models import ProviderConfig, UsageRecord
from providers.notices import budget_notice_send
from providers.selectors import provider_credentials, providers_usable


class BudgetBlocked(ProviderError):
    """A blocking budget is reached: refused before any byte went to the provider."""

    kind = "budget"
    retryable = True  # another provider may still have budget left


class NoProvider(ProviderError):
    kind = "no_provider"


@dataclass(frozen=True)
class Served:
    """The first event, once a provider answers: which one, and which were tried before it (fallback)."""

    provider_id: int
    provider: str
    kind: str
    model: str
    estimate_usd: Decimal | None
    tried: tuple[str, ...] = ()


@dataclass(frozen=True)
class Charged:
    """The last event of a request: its usage record and exact cost (None: price unknown)."""

    usage_id: int
    provider: str
    model: str
    usage: Usage
    cost_usd: Decimal | None
    latency_ms: int
    first_token_ms: int | None


@dataclass
class _Attempt:
    config: ProviderConfig
    model: str
    prompt_tokens: int
    reserved: Decimal
    month: object
    started: float = field(default_factory=time.perf_counter)
    first_token: float | None = None
    usage: Usage | None = None
    streamed_chars: int = 0


def completion_stream(
    *,
    user,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec] = (),
    provider_id: int | None = None,
    model: str | None = None,
    max_tokens: int = 1024,
    conversation_id: int | None = None,
    only: bool = False,
) -> Iterator[Served | TextDelta | ToolCall | Stop | Charged]:
    """Stream one answer: Served, then the adapter's events (its Usage folded into Charged), Charged
    last. ``only``: ``provider_id`` alone, no fallback (a connection test)."""
    candidates = providers_usable(user=user, first=provider_id)[: 1 if only else None]
    if not candidates:
        raise NoProvider("No AI provider is configured: add one under Settings → AI providers.")
    tried: list[str] = []
    failure: ProviderError | None = None
    for index, config in enumerate(candidates):
        chosen_model = (model if index == 0 and model else "") or config.model
        try:
            yield from _attempt(user, config, chosen_model, messages, tools, max_tokens, conversation_id, tuple(tried))
            return
        except _BeforeFirstToken as before:
            failure = failure or before.error
            tried.append(config.name)
            if not before.error.retryable:
                raise before.error from None
    raise failure


class _BeforeFirstToken(Exception):
    def __init__(self, error: ProviderError):
        self.error = error


def _attempt(user, config, model, messages, tools, max_tokens, conversation_id, tried):
    prompt_tokens = prompt_tokens_estimate(messages, tools)
    worst = pricing.cost_of(
        Usage(input_tokens=prompt_tokens, output_tokens=max_tokens),
        pricing.prices_for(config, model=model, input_tokens=prompt_tokens),
    )
    attempt = _Attempt(config, model, prompt_tokens, worst or Decimal(0), budgets.month_start())
    if not budgets.budget_reserve(provider=config, amount=attempt.reserved):
        error = _blocked(config, worst)
        _record(user, attempt, UsageRecord.Status.BLOCKED, error.message, conversation_id, reserved=False)
        raise _BeforeFirstToken(error)
    status, error_text = UsageRecord.Status.CANCELLED, "stopped by the client"
    try:
        served = Served(config.pk, config.name, config.kind, model, worst, tried)
        for event in _events(attempt, messages, tools, max_tokens):
            if served is not None:  # once the provider answers: a failure before it moves on unseen
                yield served
                served = None
            yield event
        status, error_text = UsageRecord.Status.OK, ""
    except ProviderError as error:
        status, error_text = UsageRecord.Status.ERROR, error.message
        if attempt.first_token is None:
            raise _BeforeFirstToken(error) from None
        raise
    except Exception:
        status, error_text = UsageRecord.Status.ERROR, "internal error (see the server log)"
        raise
    finally:
        record = _record(user, attempt, status, error_text, conversation_id, reserved=True)
    yield _charged(record, attempt)


def _events(attempt: _Attempt, messages, tools, max_tokens):
    adapter = adapter_for(
        kind=attempt.config.kind, base_url=attempt.config.base_url, credentials=provider_credentials(attempt.config)
    )
    options = Options(model=attempt.model, max_tokens=max_tokens)
    for event in adapter.stream(messages, tools, options):
        if isinstance(event, Usage):
            attempt.usage = event
            continue
        if attempt.first_token is None and isinstance(event, TextDelta | ToolCall):
            attempt.first_token = time.perf_counter()
        if isinstance(event, TextDelta):
            attempt.streamed_chars += len(event.text)
        yield event


def _blocked(config: ProviderConfig, worst: Decimal | None) -> BudgetBlocked:
    row = budgets.month_row(provider=config)
    left = budgets.budget_remaining(provider=config, row=row)
    return BudgetBlocked(
        f"The monthly budget of {config.name} (${config.monthly_budget_usd}) is reached: ${left:.2f} is left and "
        f"this request could cost up to ${worst:.4f}. Raise the budget or wait for next month."
    )


def _record(user, attempt: _Attempt, status, error_text, conversation_id, *, reserved: bool) -> UsageRecord:
    """Store the request's usage and settle its reservation. A request cut before the provider said
    what it used is charged what was sent and streamed (estimated): a budget never undercounts."""
    usage = attempt.usage or _estimated_usage(attempt, status)
    prices = pricing.prices_for(attempt.config, model=attempt.model, input_tokens=usage.input_tokens)
    cost = usage.cost_usd if usage.cost_usd is not None else pricing.cost_of(usage, prices)
    now = time.perf_counter()
    record = UsageRecord.objects.create(
        user=user,
        provider=attempt.config,
        provider_kind=attempt.config.kind,
        provider_name=attempt.config.name,
        model=attempt.model,
        input_tokens=usage.input_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        output_tokens=usage.output_tokens,
        price_input_per_mtok=prices.input if prices else None,
        price_cached_input_per_mtok=prices.cached_input if prices else None,
        price_output_per_mtok=prices.output if prices else None,
        cost_usd=cost,
        reserved_usd=attempt.reserved if reserved else 0,
        latency_ms=round((now - attempt.started) * 1000),
        first_token_ms=round((attempt.first_token - attempt.started) * 1000) if attempt.first_token else None,
        status=status,
        error=error_text[:1000],
        conversation_id=conversation_id,
        created_at=_now(),
    )
    if reserved:
        row = budgets.budget_settle(provider=attempt.config, reserved=attempt.reserved, cost=cost, month=attempt.month)
        if budgets.budget_warn_once(provider=attempt.config, row=row):
            budget_notice_send(provider=attempt.config, user=user, spent=row.spent_usd)
    return record


def _estimated_usage(attempt: _Attempt, status) -> Usage:
    if status == UsageRecord.Status.BLOCKED or (attempt.first_token is None and status != UsageRecord.Status.CANCELLED):
        return Usage()  # refused, or failed before the provider produced anything: nothing billed
    return Usage(input_tokens=attempt.prompt_tokens, output_tokens=math.ceil(attempt.streamed_chars / 3))


def _charged(record: UsageRecord, attempt: _Attempt) -> Charged:
    usage = Usage(record.input_tokens, record.cached_input_tokens, record.output_tokens, record.cost_usd)
    return Charged(
        record.pk, record.provider_name, record.model, usage, record.cost_usd, record.latency_ms, record.first_token_ms
    )


def prompt_tokens_estimate(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int:
    """An upper-leaning count of the prompt's tokens without the provider's tokenizer: a token is at
    least ~3 bytes of UTF-8 in the tokenizers in use, plus each message's framing."""
    size = sum(len(m.content.encode()) + sum(len(json.dumps(c.arguments)) for c in m.tool_calls) for m in messages)
    size += sum(len(json.dumps({"n": t.name, "d": t.description, "p": t.parameters})) for t in tools)
    return math.ceil(size / 3) + 8 * len(messages) + 16


def _now():
    from django.utils import timezone

    return timezone.now()
