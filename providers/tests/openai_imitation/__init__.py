"""A local OpenAI-compatible chat-completions server (SSE streams, model list, OpenAI's error bodies),
with the flavors of Groq, Mistral and OpenRouter, for the OpenAI-family adapter's tests and benchmarks.
"""

from providers.tests.openai_imitation.server import OpenAIImitation, openai_imitation_running
from providers.tests.openai_imitation.wire import OpenAITurn

__all__ = ["OpenAIImitation", "OpenAITurn", "openai_imitation_running"]
