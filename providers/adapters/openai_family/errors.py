"""The `openai` SDK's exceptions as the adapters' `ProviderError`s.

The message kept is the provider's own (`error.message` of OpenAI's body, or Mistral's unwrapped
body), with the API key blanked should a server echo it; the retry delay of a 429 comes from
`retry-after-ms`, `retry-after` (seconds or an HTTP date) or the "try again in 7.5s" of the message.
"""

from __future__ import annotations

import email.utils
import json
import re
import time

import openai

from providers.adapters.base import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    NetworkError,
    OverloadedError,
    ProviderError,
    ProviderTimeout,
    RateLimitedError,
)

# How the providers word a prompt over the model's context window (OpenAI and Groq also send the
# code `context_length_exceeded`; Mistral, Together and OpenRouter only say so).
CONTEXT_TOO_LONG = re.compile(
    r"context[ _]length|context window|maximum context|prompt is too long|too large for model"
    r"|tokens \+ `?max_new_tokens`? must be",
    re.IGNORECASE,
)
TRY_AGAIN_IN = re.compile(r"try again in (\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)


def provider_error(error: openai.OpenAIError, *, api_key: str) -> ProviderError:
    """The `ProviderError` for an SDK exception, its message free of `api_key`."""
    if isinstance(error, openai.APITimeoutError):  # before APIConnectionError, its base class
        return ProviderTimeout("The provider did not answer in time.")
    if isinstance(error, openai.APIConnectionError):
        return NetworkError("Could not reach the provider, or the connection was cut.")
    if isinstance(error, openai.APIStatusError):
        return status_error(error, scrub(message_of(error), api_key))
    if isinstance(error, openai.APIError):  # an error event inside the stream
        return OverloadedError(scrub(message_of(error), api_key))
    return ProviderError(scrub(str(error), api_key))


def status_error(error: openai.APIStatusError, message: str) -> ProviderError:
    status = error.status_code
    if status in (401, 403):
        return AuthenticationError(message, status=status)
    if status == 429:
        return RateLimitedError(message, status=status, retry_after=retry_after(error, message))
    if status == 408:
        return ProviderTimeout(message, status=status)
    if status >= 500:
        return OverloadedError(message, status=status)
    if error.code == "context_length_exceeded" or CONTEXT_TOO_LONG.search(message):
        return ContextTooLongError(message, status=status)
    if 400 <= status < 500:
        return BadRequestError(message, status=status)
    return ProviderError(message, status=status)


def message_of(error: openai.APIError) -> str:
    """The provider's own words: the body's `message` (text, or Mistral's 422 `detail` list)."""
    body = error.body
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, dict) and isinstance(message.get("detail"), list):
        message = "; ".join(detail_text(item) for item in message["detail"])
    if isinstance(message, str) and message.strip():
        return message
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    if message is not None:
        return json.dumps(message)[:500]
    status = getattr(error, "status_code", None)
    return f"The provider answered HTTP {status}." if status else "The provider reported an error."


def detail_text(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc") or ())
    return f"{where}: {item.get('msg')}" if where else str(item.get("msg"))


def scrub(message: str, api_key: str) -> str:
    return message.replace(api_key, "[API key]") if api_key else message


def retry_after(error: openai.APIStatusError, message: str) -> float | None:
    """Seconds to wait, from the headers or else the provider's message; None if it said nothing."""
    headers = error.response.headers
    if (value := number(headers.get("retry-after-ms"))) is not None:
        return value / 1000
    if (value := number(headers.get("retry-after"))) is not None:
        return value
    if date := email.utils.parsedate_tz(headers.get("retry-after") or ""):
        return max(0.0, email.utils.mktime_tz(date) - time.time())
    if match := TRY_AGAIN_IN.search(message):
        seconds = float(match.group(1))
        return seconds / 1000 if match.group(2).lower() == "ms" else seconds
    return None


def number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 and value != float("inf") else None
