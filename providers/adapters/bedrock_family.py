"""Amazon Bedrock through boto3's `bedrock-runtime` `converse_stream` (AWS event-stream framing).

The neutral conversation becomes a Converse request: the system prompt in `system`, tool calls as
`toolUse` blocks, tool results as `toolResult` blocks of one user message, tools in `toolConfig`.
The streamed events become `TextDelta`, `ToolCall`, `Usage` (from the `metadata` event) and `Stop`;
boto3's and urllib3's exceptions become `ProviderError`s. boto3 clients are slow to build, so they
are cached per (credentials, endpoint, timeout); their own retries are off, the caller retries.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator, Sequence

import boto3
from botocore.config import Config
from botocore.eventstream import ParserError as EventStreamParserError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from providers.adapters.base import (
    AuthenticationError,
    BadRequestError,
    ContextTooLongError,
    Credentials,
    Event,
    Message,
    NetworkError,
    Options,
    OverloadedError,
    ProviderError,
    ProviderTimeout,
    RateLimitedError,
    Stop,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

DEFAULT_REGION = "us-east-1"
LIST_MODELS_TIMEOUT = 30.0
# Anthropic's models on Bedrock accept only these tool-use ids (Bedrock's own pattern also allows
# `.` and `:`): ids made elsewhere are mapped, the same way for a call and for its result.
TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
STOP_REASONS = {
    "end_turn": "end",
    "stop_sequence": "end",
    "tool_use": "tool_calls",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
AUTH_CODES = {
    "accessdeniedexception",
    "unrecognizedclientexception",
    "invalidsignatureexception",
    "missingauthenticationtokenexception",
    "expiredtokenexception",
    "signaturedoesnotmatch",
}
RATE_CODES = {"throttlingexception", "toomanyrequestsexception"}
OVERLOAD_CODES = {
    "internalserverexception",
    "serviceunavailableexception",
    "modelnotreadyexception",
    "modelstreamerrorexception",
    "modelerrorexception",
}
TOO_LONG = ("input is too long", "too many input tokens", "prompt is too long", "context window", "too many tokens")


class BedrockAdapter:
    """The `bedrock` kind: Converse streaming with SigV4 credentials (access key, secret, region)."""

    def __init__(self, *, kind: str, base_url: str | None, credentials: Credentials):
        self.kind = kind
        self.base_url = base_url
        self.credentials = credentials

    def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> Iterator[Event]:
        request = converse_request(messages, tools, options)
        try:
            events = self._client("bedrock-runtime", options.timeout).converse_stream(**request)["stream"]
            try:
                yield from stream_events(events)
            finally:  # also when the caller stops early: the connection must not stay half-read
                events.close()
        except ProviderError:
            raise
        except Exception as exc:
            raise provider_error(exc, self.credentials, timeout=options.timeout) from exc

    def list_models(self) -> list[str]:
        try:
            answer = self._client("bedrock", LIST_MODELS_TIMEOUT).list_foundation_models(byOutputModality="TEXT")
        except ProviderError:
            raise
        except Exception as exc:
            raise provider_error(exc, self.credentials, timeout=LIST_MODELS_TIMEOUT) from exc
        summaries = answer.get("modelSummaries", [])
        return sorted({s["modelId"] for s in summaries if s.get("responseStreamingSupported", True)})

    def _client(self, service: str, timeout: float):
        creds = self.credentials
        if not creds.aws_access_key_id or not creds.aws_secret_access_key:
            # Without both, boto3 would fall back to the host's own AWS credentials: never do that.
            raise AuthenticationError("Bedrock needs an AWS access key id and secret access key.")
        return client_for(service, creds, self.base_url, timeout)


# --- clients ---------------------------------------------------------------------------------

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_MAX_CLIENTS = 64
_session: boto3.session.Session | None = None


def client_for(service: str, credentials: Credentials, base_url: str | None, timeout: float):
    """A cached boto3 client of `service` (`bedrock-runtime` or `bedrock`) for these credentials."""
    global _session
    secret_digest = hashlib.sha256(credentials.aws_secret_access_key.encode()).hexdigest()
    region = credentials.aws_region or DEFAULT_REGION
    key = (service, credentials.aws_access_key_id, secret_digest, region, base_url, timeout)
    with _clients_lock:  # boto3 sessions are not thread-safe while they build clients
        client = _clients.get(key)
        if client is None:
            if len(_clients) >= _MAX_CLIENTS:
                _clients.pop(next(iter(_clients)))
            # One session for every client: it keeps the parsed service models, so that a new client
            # takes a millisecond or two instead of ~100 ms. Its own credentials are never used.
            _session = _session or boto3.session.Session()
            client = _clients[key] = _build_client(_session, service, credentials, region, base_url, timeout)
    return client


def _build_client(session, service: str, credentials: Credentials, region: str, base_url: str | None, timeout: float):
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},  # one try: the caller retries
        connect_timeout=timeout,
        read_timeout=timeout,
        max_pool_connections=50,
    )
    return session.client(
        service,
        region_name=region,
        endpoint_url=base_url or None,
        aws_access_key_id=credentials.aws_access_key_id,
        aws_secret_access_key=credentials.aws_secret_access_key,
        config=config,
    )


# --- the request -----------------------------------------------------------------------------


def converse_request(messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> dict:
    """The keyword arguments of `converse_stream` for this conversation."""
    inference = {"maxTokens": options.max_tokens}
    if options.temperature is not None:
        inference["temperature"] = options.temperature
    request = {"modelId": options.model, "messages": converse_messages(messages), "inferenceConfig": inference}
    system = [{"text": m.content} for m in messages if m.role == "system" and m.content.strip()]
    if system:
        request["system"] = system
    tool_config = converse_tool_config(tools, messages)
    if tool_config:
        request["toolConfig"] = tool_config
    return request


def converse_messages(messages: Sequence[Message]) -> list[dict]:
    """User and assistant turns, strictly alternating as Converse demands: consecutive blocks of one
    role (tool results and the user's next words) are merged into one message."""
    merged: list[dict] = []
    for message in messages:
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"].extend(blocks)
        else:
            merged.append({"role": role, "content": blocks})
    return merged


def _blocks(message: Message) -> tuple[str, list[dict]]:
    if message.role == "tool":
        return "user", [{"toolResult": tool_result(message)}]
    if message.role == "system":
        return "system", []
    blocks = [{"text": message.content}] if message.content.strip() else []
    for call in message.tool_calls:
        blocks.append({"toolUse": {"toolUseId": bedrock_tool_id(call.id), "name": call.name, "input": call.arguments}})
    return message.role, blocks


def tool_result(message: Message) -> dict:
    """A tool's answer: a JSON object as `json`, anything else as `text`."""
    try:
        value = json.loads(message.content)
    except ValueError:
        value = None
    if isinstance(value, dict):
        content = [{"json": value}]
    else:
        content = [{"text": message.content}] if message.content.strip() else [{"json": {}}]
    result = {"toolUseId": bedrock_tool_id(message.tool_call_id or ""), "content": content}
    if message.is_error:
        result["status"] = "error"
    return result


def bedrock_tool_id(raw: str) -> str:
    """`raw` when Bedrock accepts it as a toolUseId, else a deterministic id that it accepts."""
    if TOOL_USE_ID.match(raw):
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
    return f"{re.sub(r'[^a-zA-Z0-9_-]', '_', raw)[:40]}_{digest}"


def converse_tool_config(tools: Sequence[ToolSpec], messages: Sequence[Message]) -> dict | None:
    """`toolConfig` for the tools; Bedrock also demands one whenever the history holds tool blocks,
    so a continued conversation without tools declares the tools it used, with open schemas."""
    specs = [_tool_spec(t.name, t.description, t.parameters) for t in tools]
    if not specs:
        used = dict.fromkeys(c.name for m in messages for c in m.tool_calls)
        specs = [_tool_spec(name, "", {"type": "object", "properties": {}}) for name in used]
    return {"tools": specs} if specs else None


def _tool_spec(name: str, description: str, parameters: dict) -> dict:
    spec = {"name": name, "inputSchema": {"json": parameters or {"type": "object", "properties": {}}}}
    if description:  # Bedrock refuses an empty description
        spec["description"] = description
    return {"toolSpec": spec}


# --- the answer ------------------------------------------------------------------------------


def stream_events(stream: Iterable[dict]) -> Iterator[Event]:
    """The neutral events of a ConverseStream; NetworkError when the stream ends before
    `messageStop` and `metadata` arrived."""
    calls: dict[int, list] = {}  # content block index -> [id, name, argument fragments]
    stop: str | None = None
    usage: Usage | None = None
    for event in stream:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool_use = start.get("start", {}).get("toolUse")
            if tool_use:
                calls[start["contentBlockIndex"]] = [tool_use["toolUseId"], tool_use["name"], []]
        elif "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]["delta"]
            if delta.get("text"):
                yield TextDelta(delta["text"])
            elif "toolUse" in delta:
                calls[event["contentBlockDelta"]["contentBlockIndex"]][2].append(delta["toolUse"].get("input", ""))
        elif "contentBlockStop" in event:
            call = calls.pop(event["contentBlockStop"]["contentBlockIndex"], None)
            if call:
                yield parsed_tool_call(*call)
        elif "messageStop" in event:
            yield from (parsed_tool_call(*call) for call in calls.values())
            calls.clear()
            stop = event["messageStop"].get("stopReason", "")
        elif "metadata" in event:
            usage = usage_from(event["metadata"].get("usage", {}))
    if stop is None or usage is None:
        raise NetworkError("The Bedrock stream ended before the answer was complete.")
    yield usage
    yield Stop(STOP_REASONS.get(stop, "other"))


def parsed_tool_call(call_id: str, name: str, fragments: list[str]) -> ToolCall:
    """The call with its joined argument fragments parsed; `invalid_arguments` when not an object."""
    text = "".join(fragments)
    try:
        arguments = json.loads(text) if text.strip() else {}
    except ValueError:
        arguments = None
    if isinstance(arguments, dict):
        return ToolCall(id=call_id, name=name, arguments=arguments)
    return ToolCall(id=call_id, name=name, arguments={}, invalid_arguments=text)


def usage_from(usage: dict) -> Usage:
    """Converse's `inputTokens` leaves out the tokens read from and written to the prompt cache."""
    cache_read = usage.get("cacheReadInputTokens", 0)
    cache_write = usage.get("cacheWriteInputTokens", 0)
    return Usage(
        input_tokens=usage.get("inputTokens", 0) + cache_read + cache_write,
        cached_input_tokens=cache_read,
        output_tokens=usage.get("outputTokens", 0),
    )


# --- errors ----------------------------------------------------------------------------------


def provider_error(exc: Exception, credentials: Credentials, *, timeout: float) -> ProviderError:
    """The `ProviderError` for what boto3 (or urllib3, midway through the stream) raised."""
    if isinstance(exc, ClientError):
        return client_error(exc, credentials)
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError, Urllib3Timeout)):
        return ProviderTimeout(f"Bedrock did not answer within {timeout:g} seconds.")
    if isinstance(exc, ParamValidationError):
        return BadRequestError(_scrub(str(exc), credentials), status=400)
    if isinstance(exc, (Urllib3Error, ResponseStreamingError, ConnectionClosedError, EventStreamParserError)):
        return NetworkError("The connection to Bedrock broke before the answer was complete.")
    if isinstance(exc, (BotoCoreError, OSError)):
        return NetworkError(f"Could not reach Bedrock ({type(exc).__name__}).")
    return ProviderError(f"Bedrock request failed: {type(exc).__name__}.")


def client_error(exc: ClientError, credentials: Credentials) -> ProviderError:
    """Bedrock's answered error: by its error code (HTTP or in-stream), else by the HTTP status."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "")).lower()
    meta = exc.response.get("ResponseMetadata", {})
    status = meta.get("HTTPStatusCode")
    message = _scrub(error.get("Message") or error.get("Code") or "Bedrock refused the request.", credentials)
    if code in AUTH_CODES or status in (401, 403):
        return AuthenticationError(message, status=status)
    if code == "modeltimeoutexception":
        return ProviderTimeout(message, status=status)
    # ModelNotReadyException comes with a 429 but is the model loading, not a quota: overloaded.
    if code in OVERLOAD_CODES or (status or 0) >= 500:
        return OverloadedError(message, status=status)
    if code in RATE_CODES or status == 429:
        return RateLimitedError(message, status=429, retry_after=_retry_after(meta.get("HTTPHeaders", {})))
    if any(phrase in message.lower() for phrase in TOO_LONG):
        return ContextTooLongError(message, status=400)
    if code in ("validationexception", "resourcenotfoundexception") or status in (400, 404):
        return BadRequestError(message, status=status)
    return ProviderError(message, status=status)


def _retry_after(headers: dict) -> float | None:
    # Bedrock itself sends no Retry-After; a proxy in front of it may.
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def _scrub(text: str, credentials: Credentials) -> str:
    for secret in (credentials.aws_secret_access_key, credentials.aws_access_key_id):
        if secret:
            text = text.replace(secret, "…")
    return text
