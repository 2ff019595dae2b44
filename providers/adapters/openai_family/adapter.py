"""`OpenAIAdapter`: the OpenAI-compatible providers (OpenAI, Together, Hugging Face, Mistral, Groq,
OpenRouter, Ollama) through the `openai` SDK's chat completions, streamed.

What differs between the kinds is only in the request: the base URL, Ollama's missing key, which
output-limit field the server takes, and Mistral's refusal of `stream_options` (it always sends the
usage). Everything a server may answer differently is read by `chunks` whatever the kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import openai

from providers.adapters import DEFAULT_BASE_URLS
from providers.adapters.base import Credentials, Event, Message, NetworkError, Options, ToolSpec
from providers.adapters.openai_family.chunks import ChunkAssembly
from providers.adapters.openai_family.errors import provider_error
from providers.adapters.openai_family.messages import wire_messages, wire_tools

# The SDK refuses to build a client without a key; Ollama (or a self-hosted server) needs none.
PLACEHOLDER_KEY = "no-key"
# Kinds that take `max_completion_tokens` (OpenAI's reasoning models refuse `max_tokens`); the
# others know only `max_tokens` (Mistral answers 422 to the newer field).
COMPLETION_TOKENS_KINDS = {"openai", "groq"}
# Kinds that send the usage without being asked and refuse `stream_options`.
NO_STREAM_OPTIONS_KINDS = {"mistral"}
LIST_MODELS_TIMEOUT = 30.0


class OpenAIAdapter:
    """One provider configuration of the OpenAI-compatible family (see `base.Adapter`)."""

    def __init__(self, *, kind: str, base_url: str | None, credentials: Credentials):
        self.kind = kind
        self.base_url = base_url or DEFAULT_BASE_URLS[kind]
        self._api_key = credentials.api_key
        self._client = openai.OpenAI(
            api_key=credentials.api_key or PLACEHOLDER_KEY,
            base_url=self.base_url,
            max_retries=0,  # retries and fallback are the caller's
        )
        # The SDK fills these from the process's OPENAI_ORG_ID / OPENAI_PROJECT_ID: the operator's,
        # not this configuration's, and not to be sent to other providers.
        self._client.organization = self._client.project = None

    def stream(self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> Iterator[Event]:
        """Stream the answer as events (see `base.Adapter.stream`)."""
        try:
            yield from self._events(self.request(messages, tools, options), options)
        except openai.OpenAIError as error:
            raise provider_error(error, api_key=self._api_key) from None

    def _events(self, request: dict, options: Options) -> Iterator[Event]:
        assembly = ChunkAssembly()
        with self._client.chat.completions.create(**request, timeout=options.timeout) as chunks:
            for chunk in chunks:
                yield from assembly.take(chunk)
        if not assembly.finished:  # the connection closed cleanly, but before the answer's end
            raise NetworkError("The provider's stream ended before the answer was complete.")
        yield from assembly.ending()

    def request(self, messages: Sequence[Message], tools: Sequence[ToolSpec], options: Options) -> dict:
        """The keyword arguments of `chat.completions.create` for this kind."""
        request: dict = {"model": options.model, "messages": wire_messages(messages, kind=self.kind), "stream": True}
        limit = "max_completion_tokens" if self.kind in COMPLETION_TOKENS_KINDS else "max_tokens"
        request[limit] = options.max_tokens
        if self.kind not in NO_STREAM_OPTIONS_KINDS:
            request["stream_options"] = {"include_usage": True}
        if tools:
            request["tools"] = wire_tools(tools)
        if options.temperature is not None:
            request["temperature"] = options.temperature
        return request

    def list_models(self) -> list[str]:
        """The ids of `GET {base}/models`, sorted; [] where the server has no such list (404)."""
        try:
            return sorted(model.id for model in self._client.models.list(timeout=LIST_MODELS_TIMEOUT))
        except openai.NotFoundError:
            return []
        except openai.OpenAIError as error:
            raise provider_error(error, api_key=self._api_key) from None
