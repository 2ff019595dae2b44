"""Provider adapters: one interface (`base.Adapter`) over four wire-protocol families.

`adapter_for(kind=..., base_url=..., credentials=...)` builds the adapter of a provider kind; the
family modules are imported on first use, so that a deployment that never calls Bedrock never loads
boto3.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import import_module

from providers.adapters.base import Adapter, Credentials

# kind -> (module, class) of its family
FAMILIES = {
    "openai": ("providers.adapters.openai_family", "OpenAIAdapter"),
    "together": ("providers.adapters.openai_family", "OpenAIAdapter"),
    "huggingface": ("providers.adapters.openai_family", "OpenAIAdapter"),
    "mistral": ("providers.adapters.openai_family", "OpenAIAdapter"),
    "groq": ("providers.adapters.openai_family", "OpenAIAdapter"),
    "openrouter": ("providers.adapters.openai_family", "OpenAIAdapter"),
    "ollama": ("providers.adapters.openai_family", "OpenAIAdapter"),
    "anthropic": ("providers.adapters.anthropic_family", "AnthropicAdapter"),
    "google": ("providers.adapters.google_family", "GoogleAdapter"),
    "bedrock": ("providers.adapters.bedrock_family", "BedrockAdapter"),
}

# Where each kind's API is when the configuration sets no base URL. Bedrock's and Vertex's depend
# on the region/location and are built by their adapters.
DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "together": "https://api.together.xyz/v1",
    "huggingface": "https://router.huggingface.co/v1",
    "mistral": "https://api.mistral.ai/v1",
    "groq": "https://api.groq.com/openai/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "ollama": "http://localhost:11434/v1",
    "anthropic": "https://api.anthropic.com",
    "google": "https://generativelanguage.googleapis.com",
    "bedrock": "",
}


def adapter_for(*, kind: str, base_url: str | None, credentials: Credentials) -> Adapter:
    """The adapter of ``kind`` for these credentials, built once and reused: building an SDK client
    loads the system's CA certificates (20-60 ms of CPU, bench/providers.py), and a reused client keeps
    its connections open. Adapters are safe to share between threads (their tests run them so)."""
    return _adapter(kind, base_url or None, credentials)


@lru_cache(maxsize=256)
def _adapter(kind: str, base_url: str | None, credentials: Credentials) -> Adapter:
    module, name = FAMILIES[kind]
    return getattr(import_module(module), name)(kind=kind, base_url=base_url, credentials=credentials)
