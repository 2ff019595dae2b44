"""The OpenAI-compatible family: `OpenAIAdapter` over the `openai` SDK's streamed chat completions
(`adapter`), with the conversation's conversion (`messages`), the stream's reading (`chunks`) and
the errors' mapping (`errors`).
"""

from providers.adapters.openai_family.adapter import OpenAIAdapter

__all__ = ["OpenAIAdapter"]
