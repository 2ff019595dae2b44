"""A local Amazon Bedrock for the tests and benchmarks: ConverseStream over AWS event-stream framing
and the foundation-model list, on 127.0.0.1, driven by the shared `Turn` script.

``bedrock_imitation_running(**kwargs)`` yields a started ``BedrockImitation`` served from a thread;
pass its ``url`` as the adapter's base URL and its ``access_key_id`` as the credentials' key id.
"""

from providers.tests.bedrock_imitation.server import BedrockImitation, BedrockTurn, bedrock_imitation_running

__all__ = ["BedrockImitation", "BedrockTurn", "bedrock_imitation_running"]
