"""The neutral conversation in chat-completions shape: messages, tool calls and results, tools.

Tool calls made on another provider keep their ids where the target accepts them; where it does not
(Mistral: exactly 9 letters or digits; OpenAI: at most 40 characters) an id is replaced by one derived
from it by a hash, so the same id always maps to the same replacement and a result stays matched to
its call.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

from providers.adapters.base import Message, ToolCall, ToolSpec

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MISTRAL_ID = re.compile(r"[a-zA-Z0-9]{9}")
# What OpenAI and the servers that copy it accept as a tool-call id.
PORTABLE_ID = re.compile(r"[a-zA-Z0-9_-]{1,40}")


def hashed_id(original: str, length: int) -> str:
    """A `length`-character [0-9a-zA-Z] id derived from `original`: same input, same output."""
    number = int.from_bytes(hashlib.sha256(original.encode()).digest(), "big")
    characters = []
    for _ in range(length):
        number, digit = divmod(number, len(ALPHABET))
        characters.append(ALPHABET[digit])
    return "".join(characters)


def wire_id(original: str, *, kind: str) -> str:
    """The id to send `kind` for a tool call whose id (from any provider) is `original`."""
    if kind == "mistral":
        return original if MISTRAL_ID.fullmatch(original) else hashed_id(original, 9)
    return original if PORTABLE_ID.fullmatch(original) else "call_" + hashed_id(original, 24)


def wire_messages(messages: Sequence[Message], *, kind: str) -> list[dict]:
    """The `messages` of a chat-completions request; the system prompt stays a `system` message."""
    return [wire_message(message, kind=kind) for message in messages]


def wire_message(message: Message, *, kind: str) -> dict:
    if message.role == "assistant":
        return assistant_message(message, kind=kind)
    if message.role == "tool":
        return tool_message(message, kind=kind)
    return {"role": message.role, "content": message.content}


def assistant_message(message: Message, *, kind: str) -> dict:
    if not message.tool_calls:
        return {"role": "assistant", "content": message.content}
    calls = [wire_tool_call(call, kind=kind) for call in message.tool_calls]
    return {"role": "assistant", "content": message.content or None, "tool_calls": calls}


def wire_tool_call(call: ToolCall, *, kind: str) -> dict:
    # Arguments that were not a JSON object go back as `{}`: strict servers refuse invalid JSON in
    # the history, and the tool result already tells the model what was wrong.
    arguments = json.dumps(call.arguments, ensure_ascii=False)
    return {
        "id": wire_id(call.id, kind=kind),
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def tool_message(message: Message, *, kind: str) -> dict:
    wire = {"role": "tool", "tool_call_id": wire_id(message.tool_call_id or "", kind=kind), "content": message.content}
    if kind == "mistral" and message.name:
        wire["name"] = message.name  # Mistral's tool messages name the function they answer
    return wire


def wire_tools(tools: Sequence[ToolSpec]) -> list[dict]:
    return [
        {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
        for t in tools
    ]
