"""Local servers of every wire-protocol family and the provider fields that point at them, for the
tests that run one request or conversation through each family."""

from __future__ import annotations

from contextlib import ExitStack

from providers.tests.anthropic_imitation import anthropic_imitation_running
from providers.tests.anthropic_imitation.server import DEFAULT_KEY as ANTHROPIC_KEY
from providers.tests.bedrock_imitation import bedrock_imitation_running
from providers.tests.google_imitation import google_imitation_running
from providers.tests.openai_imitation import openai_imitation_running

# USD per million tokens (input, cached input, output), as genai-prices lists these models: written
# out here so that the expected costs do not come from the code under test.
FAMILIES = {
    "openai": ("gpt-4o-mini", ("0.15", "0.075", "0.6")),
    "mistral": ("mistral-large-latest", ("2", "2", "6")),
    "anthropic": ("claude-sonnet-4-5", ("3", "0.3", "15")),
    "bedrock": ("anthropic.claude-3-haiku-20240307-v1:0", ("0.25", "0.25", "1.25")),
    "google": ("gemini-2.5-flash", ("0.3", "0.03", "2.5")),
    "vertex": ("gemini-2.5-flash", ("0.3", "0.03", "2.5")),
}


def started(stack: ExitStack, family: str):
    """A local server of ``family`` and the provider fields that point at it."""
    if family in ("openai", "mistral"):
        server = stack.enter_context(openai_imitation_running(flavor=family))
        return server, {"kind": family, "api_key": "sk-imitation-0123456789"}
    if family == "anthropic":
        return stack.enter_context(anthropic_imitation_running()), {"kind": "anthropic", "api_key": ANTHROPIC_KEY}
    if family == "bedrock":
        server = stack.enter_context(bedrock_imitation_running())
        fields = {"kind": "bedrock", "aws_access_key_id": server.access_key_id,
                  "aws_secret_access_key": "imitation-secret", "aws_region": "us-east-1"}  # fmt: skip
        return server, fields
    server = stack.enter_context(google_imitation_running())
    if family == "google":
        return server, {"kind": "google", "api_key": "imitation-key"}
    account = server.service_account_json()
    return server, {"kind": "google", "google_project": "imitation-project", "google_location": "us-central1",
                    "google_credentials_json": account}  # fmt: skip
