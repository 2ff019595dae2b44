"""The one interface every provider adapter speaks.

An adapter takes the conversation in the project's neutral shape (`Message`, `ToolSpec`,
`Options`), sends it to its provider through that provider's own SDK, and turns the streamed answer
into a sequence of events: `TextDelta`, `ToolCall` (complete, arguments parsed), `Usage` and a final
`Stop`. Failures are raised as one of the `ProviderError` subclasses below, whatever the SDK raised,
so that the caller (fallback, budgets, the assistant) never looks at a provider's own exceptions.

Adapters are synchronous iterators: the chat runs in a Celery worker (full stack) or in a thread of
the server (embedded), and the SDKs' synchronous clients are the simplest to bound with timeouts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

# --- What goes in ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, and its arguments as a JSON schema."""

    name: str
    description: str
    parameters: dict


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call: the provider's id for it (kept, so that its result can answer it), the
    tool's name and the arguments parsed from JSON (a dict; `{}` when the model sent none)."""

    id: str
    name: str
    arguments: dict
    # The raw text when the model's arguments were not a JSON object (then `arguments` is {}): the
    # caller answers the call with a tool error the model can correct, instead of running the tool.
    invalid_arguments: str | None = None


@dataclass(frozen=True)
class Message:
    """One turn of the conversation, whichever provider produced it.

    - `system`: instructions (`content`); adapters move it where their API wants it.
    - `user`: `content`.
    - `assistant`: `content` (may be empty) and the `tool_calls` it made.
    - `tool`: the result of one tool call: `tool_call_id` and `name` of the call it answers,
      `content` (JSON text), `is_error` when the tool refused the arguments.
    A conversation started on one provider continues on another: every adapter accepts tool calls
    and results whatever their ids look like (ids are mapped where a provider constrains them).
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False


@dataclass(frozen=True)
class Options:
    model: str
    max_tokens: int = 1024
    temperature: float | None = None
    # Seconds to wait for the first byte and between two bytes of the stream.
    timeout: float = 60.0


@dataclass(frozen=True)
class Credentials:
    """What an adapter needs to authenticate; which fields matter depends on the provider."""

    api_key: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = ""
    aws_region: str = ""
    google_project: str = ""
    google_location: str = ""
    google_credentials_json: str = ""


# --- What comes out --------------------------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    """Tokens of one request. `input_tokens` counts every prompt token, cached ones included;
    `cached_input_tokens` is the part read from the provider's prompt cache. `cost_usd` is set only
    when the provider itself reports what the request cost (OpenRouter); otherwise the caller prices
    the tokens."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal | None = None


@dataclass(frozen=True)
class Stop:
    """The last event. `reason`: `end` (the answer is complete), `tool_calls` (the model waits for
    tool results), `max_tokens` (cut by the output limit), `content_filter`, or `other`."""

    reason: Literal["end", "tool_calls", "max_tokens", "content_filter", "other"]


Event = TextDelta | ToolCall | Usage | Stop


# --- Errors ----------------------------------------------------------------------------------


class ProviderError(Exception):
    """A provider request failed. `message` is fit to show the user: the provider's own words where it
    gave some, never a credential. `retryable`: another attempt (or another provider) may succeed."""

    retryable = False
    kind = "error"

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class AuthenticationError(ProviderError):
    kind = "authentication"


class RateLimitedError(ProviderError):
    kind = "rate_limited"
    retryable = True

    def __init__(self, message: str, *, status: int | None = 429, retry_after: float | None = None):
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds, from the provider's Retry-After where it sent one


class OverloadedError(ProviderError):
    """5xx, Anthropic's 529, Bedrock's ServiceUnavailable/ThrottlingException-free overload."""

    kind = "overloaded"
    retryable = True


class BadRequestError(ProviderError):
    kind = "bad_request"


class ContextTooLongError(BadRequestError):
    kind = "context_too_long"


class ProviderTimeout(ProviderError):
    kind = "timeout"
    retryable = True


class NetworkError(ProviderError):
    """The connection failed or the stream was cut before its end."""

    kind = "network"
    retryable = True


# --- The interface ---------------------------------------------------------------------------


class Adapter(Protocol):
    """Built by `providers.adapters.adapter_for(kind=..., base_url=..., credentials=...)`."""

    def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> Iterator[Event]:
        """Send the request and yield its events as they arrive: any number of `TextDelta` and
        `ToolCall` (each call once, complete), then exactly one `Usage` (zeros if the provider sent
        none) and one `Stop`. Raises `ProviderError` subclasses, also midway through the stream."""
        ...

    def list_models(self) -> list[str]:
        """The model ids the provider offers to these credentials, sorted; [] where it has no list."""
        ...
