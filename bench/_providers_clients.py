"""The callers ``bench/providers.py`` times against each family's local server.

Per family, three ways to make the same request (same prompt, same tool, same limits):

- ``adapter``: ``providers.adapters.adapter_for(...)`` built once, ``.stream(...)`` per request;
- ``adapter/new``: ``adapter_for(...)`` built for every request, as ``providers.completion`` does;
- ``bare``: the family's SDK called directly with a client built once, and the least a caller must do
  with its answer: take the text of each chunk, join the tool-call fragments and parse them once.

Each is a generator yielding ``("text", piece)`` per text chunk and ``("tool", call)`` per complete tool
call, so the timing loop is the same for all three (the adapters' events pass through one more
generator, ``neutral``, that labels them: well under a microsecond an event, counted against them).
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator

from providers.adapters import adapter_for
from providers.adapters.base import Credentials, Message, Options, TextDelta, ToolCall, ToolSpec

PROMPT = "Summarise the last hour of BTCUSDT and say whether to look at the chart."
TOOL = ToolSpec(
    name="coin_chart",
    description="Candles of one coin.",
    parameters={
        "type": "object",
        "properties": {"symbol": {"type": "string"}, "interval": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["symbol"],
    },
)
MAX_TOKENS = 1024
TIMEOUT = 60.0
MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-sonnet-4-5",
    "bedrock": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "google": "gemini-2.5-flash",
}
ANTHROPIC_KEY = "sk-ant-imitation-0123456789"  # what the Anthropic imitation accepts
BEDROCK_KEY_ID, BEDROCK_SECRET = "AKIAIMITATION0000001", "imitation-secret-key"
GOOGLE_KEY = "imitation-key"
CREDENTIALS = {
    "openai": Credentials(api_key="sk-bench-imitation"),
    "anthropic": Credentials(api_key=ANTHROPIC_KEY),
    "bedrock": Credentials(
        aws_access_key_id=BEDROCK_KEY_ID, aws_secret_access_key=BEDROCK_SECRET, aws_region="us-east-1"
    ),
    "google": Credentials(api_key=GOOGLE_KEY),
}

Call = Callable[[], Iterator[tuple[str, object]]]


def available(family: str) -> bool:
    """Whether this checkout has the family's adapter and imitation (Google's may not be merged yet)."""
    if family != "google":
        return True
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("providers.adapters.google_family", "providers.tests.google_imitation")
    )


def callers(family: str, url: str, *, tools: bool) -> dict[str, Call]:
    """The three callers of ``family`` against the server at ``url``."""
    tool_specs = (TOOL,) if tools else ()
    messages = (Message("user", PROMPT),)
    options = Options(model=MODELS[family], max_tokens=MAX_TOKENS, timeout=TIMEOUT)
    reused = adapter_for(kind=family, base_url=url, credentials=CREDENTIALS[family])

    def adapter() -> Iterator[tuple[str, object]]:
        return neutral(reused.stream(messages, tool_specs, options))

    def adapter_new() -> Iterator[tuple[str, object]]:
        fresh = adapter_for(kind=family, base_url=url, credentials=CREDENTIALS[family])
        return neutral(fresh.stream(messages, tool_specs, options))

    bare = BARE[family](url, tools)
    return {"adapter": adapter, "adapter/new": adapter_new, "bare": bare}


def neutral(events) -> Iterator[tuple[str, object]]:
    for event in events:
        if isinstance(event, TextDelta):
            yield "text", event.text
        elif isinstance(event, ToolCall):
            yield "tool", event


def joined(calls: dict) -> Iterator[tuple[str, object]]:
    """The bare callers' tool calls, fragments joined and parsed once the stream ended."""
    for call_id, name, fragments in calls.values():
        yield "tool", (call_id, name, json.loads("".join(fragments) or "{}"))


# --- the bare SDKs -----------------------------------------------------------------------------


def bare_openai(url: str, tools: bool) -> Call:
    import openai

    client = openai.OpenAI(api_key="sk-bench-imitation", base_url=url, max_retries=0)
    request = {
        "model": MODELS["openai"],
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_completion_tokens": MAX_TOKENS,
        "timeout": TIMEOUT,
    }
    if tools:
        request["tools"] = [{"type": "function", "function": _schema(TOOL, "parameters")}]

    def call() -> Iterator[tuple[str, object]]:
        calls: dict[int, list] = {}
        with client.chat.completions.create(**request) as chunks:
            for chunk in chunks:
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        yield "text", delta.content
                    for fragment in delta.tool_calls or ():
                        entry = calls.setdefault(fragment.index, [fragment.id, fragment.function.name, []])
                        entry[2].append(fragment.function.arguments or "")
        yield from joined(calls)

    return call


def bare_anthropic(url: str, tools: bool) -> Call:
    import anthropic

    client = anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=url, max_retries=0, timeout=TIMEOUT)
    request = {
        "model": MODELS["anthropic"],
        "max_tokens": MAX_TOKENS,
        "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
        "stream": True,
    }
    if tools:
        request["tools"] = [_schema(TOOL, "input_schema")]

    def call() -> Iterator[tuple[str, object]]:
        calls: dict[int, list] = {}
        with client.messages.create(**request) as events:
            for event in events:
                if event.type == "content_block_delta":
                    if event.delta.type == "text_delta":
                        yield "text", event.delta.text
                    elif event.delta.type == "input_json_delta":
                        calls[event.index][2].append(event.delta.partial_json)
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    calls[event.index] = [event.content_block.id, event.content_block.name, []]
        yield from joined(calls)

    return call


def bare_bedrock(url: str, tools: bool) -> Call:
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=BEDROCK_KEY_ID,
        aws_secret_access_key=BEDROCK_SECRET,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT),
    )
    request = {
        "modelId": MODELS["bedrock"],
        "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
        "inferenceConfig": {"maxTokens": MAX_TOKENS},
    }
    if tools:
        spec = {"name": TOOL.name, "description": TOOL.description, "inputSchema": {"json": TOOL.parameters}}
        request["toolConfig"] = {"tools": [{"toolSpec": spec}]}

    def call() -> Iterator[tuple[str, object]]:
        calls: dict[int, list] = {}
        stream = client.converse_stream(**request)["stream"]
        for event in stream:
            if "contentBlockDelta" in event:
                block = event["contentBlockDelta"]
                if "text" in block["delta"]:
                    yield "text", block["delta"]["text"]
                elif "toolUse" in block["delta"]:
                    calls[block["contentBlockIndex"]][2].append(block["delta"]["toolUse"]["input"])
            elif "contentBlockStart" in event:
                start = event["contentBlockStart"]
                use = start["start"].get("toolUse")
                if use:
                    calls[start["contentBlockIndex"]] = [use["toolUseId"], use["name"], []]
        yield from joined(calls)

    return call


def bare_google(url: str, tools: bool) -> Call:
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=url, retry_options=types.HttpRetryOptions(attempts=1))
    client = genai.Client(api_key=GOOGLE_KEY, http_options=options)
    config = types.GenerateContentConfig(max_output_tokens=MAX_TOKENS)
    if tools:
        declaration = types.FunctionDeclaration(
            name=TOOL.name, description=TOOL.description, parameters_json_schema=TOOL.parameters
        )
        config.tools = [types.Tool(function_declarations=[declaration])]

    def call() -> Iterator[tuple[str, object]]:
        stream = client.models.generate_content_stream(model=MODELS["google"], contents=PROMPT, config=config)
        for response in stream:
            for part in response.candidates[0].content.parts or ():
                if part.text:
                    yield "text", part.text
                elif part.function_call:  # Gemini sends a call whole: nothing to join
                    yield "tool", (part.function_call.id, part.function_call.name, dict(part.function_call.args))

    return call


def _schema(tool: ToolSpec, parameters_field: str) -> dict:
    return {"name": tool.name, "description": tool.description, parameters_field: tool.parameters}


BARE = {"openai": bare_openai, "anthropic": bare_anthropic, "bedrock": bare_bedrock, "google": bare_google}
