"""Google's Gemini models through `google-genai`: the Gemini API (an API key) and Vertex AI (a
project, a location and a service account's key file).

Gemini streams whole `GenerateContentResponse` chunks: text parts, and function calls whose `args`
arrive whole (a JSON object), sometimes without an id (then one is made up here). Arguments the
model could not write as an object end the answer with `MALFORMED_FUNCTION_CALL` instead of a call.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Iterator, Sequence

import httpx
from google import genai
from google.auth import exceptions as auth_exceptions
from google.genai import errors, types
from google.oauth2 import service_account

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

try:  # google-genai sends through httpx2 (a fork of httpx) when it is installed, httpx otherwise
    import httpx2

    HTTP_MODULES = (httpx, httpx2)
except ImportError:  # pragma: no cover - depends on the environment
    HTTP_MODULES = (httpx,)
HTTP_TIMEOUTS = tuple(module.TimeoutException for module in HTTP_MODULES)
HTTP_FAILURES = tuple(module.TransportError for module in HTTP_MODULES)

GEMINI_API_URL = "https://generativelanguage.googleapis.com"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Ids made up here for calls Gemini sent without one; they are left out when the call goes back.
GENERATED_ID_PREFIX = "gcall_"
# Gemini 3 wants the thought signature of its function calls back; a call made by another provider
# (or whose signature the neutral history does not keep) carries Google's documented sentinel.
SKIP_SIGNATURE = base64.urlsafe_b64decode("skip_thought_signature_validator")
FILTER_REASONS = {"SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"}
# Seconds Google may take over a whole answer (Options.timeout bounds the silences in it).
ANSWER_DEADLINE_SECONDS = 600
TOO_LONG = re.compile(r"exceeds the maximum number of tokens|input token count", re.IGNORECASE)


class GoogleAdapter:
    """One Google account: Vertex AI when a service account is configured, the Gemini API otherwise."""

    def __init__(self, *, kind: str, base_url: str | None, credentials: Credentials):
        self.kind = kind
        # a service account's key file, or a project without an API key (the host's own Google
        # credentials, as on Cloud Run): Vertex AI; an API key: the Gemini API
        self.vertex = bool(
            credentials.google_credentials_json or (credentials.google_project and not credentials.api_key)
        )
        if self.vertex and base_url and base_url.rstrip("/") == GEMINI_API_URL:
            base_url = None  # the kind's default is the Gemini API's; Vertex builds its own from the location
        self.base_url = base_url
        self.credentials = credentials
        self._clients: dict[float, genai.Client] = {}
        self._clients_lock = threading.Lock()

    # --- the interface ------------------------------------------------------------------------

    def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> Iterator[Event]:
        system, contents = contents_for(messages)
        config = generation_config(system, tools, options)
        try:
            client = self._client(options.timeout)  # held while streaming: a collected client closes
            responses = client.models.generate_content_stream(model=options.model, contents=contents, config=config)
            yield from answer_events(responses, tool_names=[tool.name for tool in tools])
        except ProviderError:
            raise
        except Exception as exc:  # only the failures listed in provider_error; the rest re-raised
            raise self._provider_error(exc) from exc

    def list_models(self) -> list[str]:
        try:
            models = list(self._client(60.0).models.list())
        except Exception as exc:
            raise self._provider_error(exc) from exc
        ids = {model_id(model.name) for model in models if generates_content(model)}
        return sorted(ids)

    # --- the SDK client -----------------------------------------------------------------------

    def _client(self, timeout: float) -> genai.Client:
        # under a lock: a genai.Client closes its connections when it is collected, so a client
        # replaced by a concurrent thread's would break the stream still reading from it
        with self._clients_lock:
            return self._client_unlocked(timeout)

    def _client_unlocked(self, timeout: float) -> genai.Client:
        if timeout not in self._clients:
            http_options = types.HttpOptions(
                base_url=self.base_url,
                timeout=int(timeout * 1000),  # milliseconds; httpx applies it per read, between bytes
                retry_options=types.HttpRetryOptions(attempts=1),  # the caller retries and falls back
                # the SDK would also ask Google to give up after `timeout` seconds in all, which would
                # cut a long answer that streams steadily: Google gets the whole answer's deadline
                headers={"X-Server-Timeout": str(ANSWER_DEADLINE_SECONDS)},
            )
            self._clients[timeout] = self._new_client(http_options)
        return self._clients[timeout]

    def _new_client(self, http_options: types.HttpOptions) -> genai.Client:
        if not self.vertex:
            if not self.credentials.api_key:
                raise AuthenticationError("No Google API key (or Vertex AI service account) is configured.")
            # google-genai 3 defaults to v1; function calling with JSON-schema parameters and thought
            # signatures are documented (and served) on v1beta
            http_options.api_version = "v1beta"
            return genai.Client(api_key=self.credentials.api_key, http_options=http_options)
        info, credentials = {}, None  # None: google-auth's application default credentials
        if self.credentials.google_credentials_json:
            try:
                info = json.loads(self.credentials.google_credentials_json)
                credentials = service_account.Credentials.from_service_account_info(info, scopes=[CLOUD_PLATFORM_SCOPE])
            except (ValueError, KeyError, AttributeError, TypeError) as exc:
                # the key file is a secret: say what is wrong with it without quoting it
                raise AuthenticationError("The Google service account JSON is not a valid key file.") from exc
        return genai.Client(
            vertexai=True,
            project=self.credentials.google_project or info.get("project_id"),
            location=self.credentials.google_location or "global",
            credentials=credentials,
            http_options=http_options,
        )

    def _provider_error(self, exc: Exception) -> ProviderError:
        mapped = provider_error(exc)
        if mapped is None:
            raise exc
        for secret in (self.credentials.api_key, self.credentials.google_credentials_json):
            if secret and secret in mapped.message:
                mapped.message = mapped.message.replace(secret, "***")
                mapped.args = (mapped.message,)
        return mapped


# --- the request ---------------------------------------------------------------------------------


def contents_for(messages: Sequence[Message]) -> tuple[str | None, list[types.Content]]:
    """The system instruction and the `contents` list: assistant turns as role "model", tool results
    as `functionResponse` parts of a user turn, adjacent turns of one role merged."""
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content) or None
    calls: dict[str, ToolCall] = {}
    contents: list[types.Content] = []
    for message in in_call_order(messages):
        if message.role == "system":
            continue
        role, parts = message_parts(message, calls)
        if not parts:
            continue
        if contents and contents[-1].role == role:
            contents[-1].parts.extend(parts)
        else:
            contents.append(types.Content(role=role, parts=parts))
    return system, contents


def in_call_order(messages: Sequence[Message]) -> list[Message]:
    """Tool results sorted in the order of the calls they answer: Gemini pairs a response without
    an id (a call it sent without one) with the call at the same place."""
    ordered: list[Message] = []
    results: list[Message] = []
    position: dict[str, int] = {}
    for message in [*messages, None]:
        if message is not None and message.role == "tool":
            results.append(message)
            continue
        ordered.extend(sorted(results, key=lambda m: position.get(m.tool_call_id or "", len(position))))
        results = []
        if message is not None:
            if message.role == "assistant":
                position = {call.id: index for index, call in enumerate(message.tool_calls)}
            ordered.append(message)
    return ordered


def message_parts(message: Message, calls: dict[str, ToolCall]) -> tuple[str, list[types.Part]]:
    if message.role == "user":
        return "user", [types.Part(text=message.content)] if message.content else []
    if message.role == "assistant":
        parts = [types.Part(text=message.content)] if message.content else []
        for index, call in enumerate(message.tool_calls):
            calls[call.id] = call
            function_call = types.FunctionCall(id=sent_id(call.id), name=call.name, args=call.arguments)
            signature = SKIP_SIGNATURE if index == 0 else None  # Gemini signs only a turn's first call
            parts.append(types.Part(function_call=function_call, thought_signature=signature))
        return "model", parts
    call = calls.get(message.tool_call_id or "")
    name = message.name or (call.name if call else "tool")
    response = types.FunctionResponse(id=sent_id(message.tool_call_id), name=name, response=tool_response(message))
    return "user", [types.Part(function_response=response)]


def sent_id(call_id: str | None) -> str | None:
    """The call's id as Gemini gets it: ours (made up for an id-less call) are left out."""
    if not call_id or call_id.startswith(GENERATED_ID_PREFIX):
        return None
    return call_id


def tool_response(message: Message) -> dict:
    """Gemini's `response` must be an object: a JSON object result as is, anything else wrapped."""
    try:
        result = json.loads(message.content)
    except ValueError:
        result = message.content
    if message.is_error:
        return {"error": result}
    return result if isinstance(result, dict) else {"result": result}


def generation_config(system: str | None, tools: Sequence[ToolSpec], options: Options) -> types.GenerateContentConfig:
    declarations = [
        types.FunctionDeclaration(name=t.name, description=t.description, parameters_json_schema=t.parameters)
        for t in tools
    ]
    return types.GenerateContentConfig(
        system_instruction=system,
        max_output_tokens=options.max_tokens,
        temperature=options.temperature,
        tools=[types.Tool(function_declarations=declarations)] if declarations else None,
        # the caller runs the tools, and resuming a broken stream is a retry the caller decides on
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        automatic_continuation=False,
    )


# --- the answer ----------------------------------------------------------------------------------


def answer_events(responses: Iterator[types.GenerateContentResponse], *, tool_names: list[str]) -> Iterator[Event]:
    """Text and calls as they arrive, then the usage and the stop; a stream without its finish is cut."""
    finish, finish_message, usage, made_calls = None, None, None, 0
    prefix = f"{GENERATED_ID_PREFIX}{uuid.uuid4().hex[:12]}_"
    for response in responses:
        usage = response.usage_metadata or usage
        if response.prompt_feedback and response.prompt_feedback.block_reason:
            finish = "PROHIBITED_CONTENT"  # the prompt itself was blocked: no candidate comes
        candidate = response.candidates[0] if response.candidates else None
        if candidate is None:
            continue
        for part in (candidate.content.parts if candidate.content else None) or []:
            if part.text and not part.thought:  # thought summaries are not the answer
                yield TextDelta(part.text)
            if part.function_call:
                yield tool_call(part.function_call, fallback_id=f"{prefix}{made_calls}")
                made_calls += 1
        if candidate.finish_reason:
            finish, finish_message = str(candidate.finish_reason.value), candidate.finish_message
    if finish is None:
        raise NetworkError("The answer from Google was cut before its end.")
    if finish == "MALFORMED_FUNCTION_CALL":
        call = malformed_call(finish_message or "", tool_names, call_id=f"{prefix}{made_calls}")
        if call is not None:
            yield call
            made_calls += 1
    yield usage_event(usage)
    yield Stop(stop_reason(finish, made_calls=made_calls))


def tool_call(function_call: types.FunctionCall, *, fallback_id: str) -> ToolCall:
    args = function_call.args
    return ToolCall(id=function_call.id or fallback_id, name=function_call.name or "", arguments=dict(args or {}))


def malformed_call(finish_message: str, tool_names: list[str], *, call_id: str) -> ToolCall | None:
    """The call Gemini could not write, so that the caller answers it with an error the model can fix.
    Vertex names the tool in its finish message (the Gemini API's message does not reach us); a call
    is made only when its tool is known: named there, or the only one declared."""
    named = [name for name in tool_names if name in finish_message] or (tool_names if len(tool_names) == 1 else [])
    if not named:
        return None
    raw = finish_message or "Gemini could not write the arguments as a JSON object (MALFORMED_FUNCTION_CALL)."
    return ToolCall(id=call_id, name=max(named, key=len), arguments={}, invalid_arguments=raw)


def usage_event(usage: types.GenerateContentResponseUsageMetadata | None) -> Usage:
    """Gemini repeats the running usage on every chunk: the last one counts. Its prompt count
    includes the cached tokens already; thinking tokens are billed as output."""
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=usage.prompt_token_count or 0,
        cached_input_tokens=usage.cached_content_token_count or 0,
        output_tokens=(usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0),
    )


def stop_reason(finish: str, *, made_calls: int) -> str:
    if made_calls:
        return "tool_calls"  # Gemini says STOP after function calls too
    if finish == "STOP":
        return "end"
    if finish == "MAX_TOKENS":
        return "max_tokens"
    return "content_filter" if finish in FILTER_REASONS else "other"


# --- models and errors ---------------------------------------------------------------------------


def model_id(name: str | None) -> str:
    """`models/gemini-x` (Gemini API) or `publishers/google/models/gemini-x` (Vertex) -> `gemini-x`."""
    return (name or "").rsplit("/", 1)[-1]


def generates_content(model: types.Model) -> bool:
    """Embedding and image-only models are listed too; only the ones that answer a chat count."""
    actions = model.supported_actions
    return bool(model.name) and (not actions or "generateContent" in actions)


def provider_error(exc: Exception) -> ProviderError | None:
    """The ProviderError for an SDK, HTTP or auth failure; None for anything else (a bug to surface)."""
    if isinstance(exc, errors.APIError):
        return api_error(exc)
    if isinstance(exc, HTTP_TIMEOUTS):
        return ProviderTimeout("Google did not answer in time.")
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        return AuthenticationError("No Google service account is configured for Vertex AI.")
    if isinstance(exc, auth_exceptions.RefreshError):
        return AuthenticationError(f"Google refused the service account: {exc.args[0] if exc.args else ''}".strip())
    if isinstance(exc, (*HTTP_FAILURES, auth_exceptions.TransportError)):
        return NetworkError(f"The connection to Google failed: {type(exc).__name__}.")
    if isinstance(exc, json.JSONDecodeError):
        return NetworkError("Google's answer could not be read (cut or garbled).")
    return None


def api_error(exc: errors.APIError) -> ProviderError:
    status, message = exc.code, exc.message or f"Google answered HTTP {exc.code} {exc.status or ''}".strip()
    details = error_details(exc)
    if status in (401, 403) or any(str(d.get("reason", "")).startswith("API_KEY_") for d in details):
        return AuthenticationError(message, status=status)
    if status == 429:
        return RateLimitedError(message, status=status, retry_after=retry_after(exc, details))
    if status == 400:
        too_long = TOO_LONG.search(message)
        return (ContextTooLongError if too_long else BadRequestError)(message, status=status)
    if status >= 500:
        return OverloadedError(message, status=status)
    return BadRequestError(message, status=status) if 400 <= status < 500 else ProviderError(message, status=status)


def error_details(exc: errors.APIError) -> list[dict]:
    body = exc.details if isinstance(exc.details, dict) else {}
    error = body.get("error", body)
    details = error.get("details") if isinstance(error, dict) else None
    return [d for d in details or [] if isinstance(d, dict)]


def retry_after(exc: errors.APIError, details: list[dict]) -> float | None:
    """Seconds from Google's RetryInfo detail ("7s", "1.5s"), else from a Retry-After header."""
    for detail in details:
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                pass
    headers = getattr(exc.response, "headers", None) or {}
    try:
        return float(headers.get("retry-after"))
    except (TypeError, ValueError):
        return None
