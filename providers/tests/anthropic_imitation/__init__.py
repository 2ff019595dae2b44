"""A local Anthropic Messages API for the tests and benchmarks, on 127.0.0.1.

``AnthropicImitation`` answers scripted turns (``providers.tests.imitation_script``) in the API's own
wire format: SSE events from ``POST /v1/messages``, Anthropic's error bodies, ``GET /v1/models``.
``anthropic_imitation_running`` serves one from a thread of its own while a test uses it.
"""

from providers.tests.anthropic_imitation.server import (
    DEFAULT_KEY,
    DEFAULT_MODELS,
    AnthropicImitation,
    anthropic_imitation_running,
)

__all__ = ["DEFAULT_KEY", "DEFAULT_MODELS", "AnthropicImitation", "anthropic_imitation_running"]
