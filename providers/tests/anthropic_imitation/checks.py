"""The request checks the Messages API makes before it answers, with its own wording.

Only the ones a client's conversion can get wrong: required fields, roles (the system prompt is not a
message), empty text, tool-use ids and tool names outside the API's patterns, tool results that do not
answer the tool calls of the message just before, tools without an object schema. A request that
fails one is answered 400 `invalid_request_error`, as the API does, so that a test sees the failure.
"""

from __future__ import annotations

import re

TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
BLANK_TEXT = "messages: text content blocks must contain non-whitespace text"


def request_problem(body: object) -> str | None:
    """The API's message for the first thing wrong with a Messages request body; None when it is fine."""
    if not isinstance(body, dict):
        return "Input should be a valid dictionary"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    return system_problem(body.get("system")) or messages_problem(body["messages"]) or tools_problem(body)


def system_problem(system: object) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if isinstance(system, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in system):
        return None
    return "system: Input should be a valid string or a list of text blocks"


def messages_problem(messages: object) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for i, message in enumerate(messages):
        problem = message_problem(i, message)
        if problem:
            return problem
    return pairing_problem(combined(messages))


def message_problem(i: int, message: object) -> str | None:
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        role = message.get("role") if isinstance(message, dict) else None
        return f"messages.{i}.role: Input should be 'user' or 'assistant' (got {role!r})"
    content = message.get("content")
    if isinstance(content, str):
        return None if content.strip() else BLANK_TEXT
    if not isinstance(content, list):
        return f"messages.{i}.content: Input should be a valid string or list"
    if not content:
        return f"messages.{i}: all messages must have non-empty content except for the optional final assistant message"
    for j, block in enumerate(content):
        problem = block_problem(f"messages.{i}.content.{j}", block)
        if problem:
            return problem
    return None


def block_problem(where: str, block: object) -> str | None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        return None if str(block.get("text", "")).strip() else BLANK_TEXT
    if kind == "tool_use":
        if not TOOL_USE_ID.match(str(block.get("id", ""))):
            return f"{where}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
        if not isinstance(block.get("input"), dict):
            return f"{where}.tool_use.input: Input should be a valid dictionary"
        return None
    if kind == "tool_result":
        if not TOOL_USE_ID.match(str(block.get("tool_use_id", ""))):
            return f"{where}.tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'"
        return None
    return f"{where}: Input tag {kind!r} found using 'type' does not match any of the expected tags"


def combined(messages: list[dict]) -> list[tuple[str, list[dict]]]:
    """Consecutive messages of one role as the API reads them: one turn."""
    turns: list[tuple[str, list[dict]]] = []
    for message in messages:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        if turns and turns[-1][0] == message["role"]:
            turns[-1][1].extend(blocks)
        else:
            turns.append((message["role"], blocks))
    return turns


def pairing_problem(turns: list[tuple[str, list[dict]]]) -> str | None:
    """Each tool_use is answered by a tool_result in the very next turn, and each result answers one."""
    blocks = [turn[1] for turn in turns]
    for i in range(len(blocks)):
        problem = unanswered_calls(i, blocks) or orphan_results(i, blocks)
        if problem:
            return problem
    return None


def unanswered_calls(i: int, blocks: list[list[dict]]) -> str | None:
    if i + 1 == len(blocks):
        return None  # the last turn's calls are for the answer to make
    calls = {b["id"] for b in blocks[i] if b["type"] == "tool_use"}
    missing = sorted(calls - {b["tool_use_id"] for b in blocks[i + 1] if b["type"] == "tool_result"})
    if not missing:
        return None
    return (
        f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks immediately after: "
        f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
        "in the next message."
    )


def orphan_results(i: int, blocks: list[list[dict]]) -> str | None:
    previous = {b["id"] for b in blocks[i - 1] if b["type"] == "tool_use"} if i else set()
    for j, block in enumerate(blocks[i]):
        if block["type"] == "tool_result" and block["tool_use_id"] not in previous:
            return (
                f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{block['tool_use_id']}. Each `tool_result` block must have a corresponding `tool_use` "
                "block in the previous message."
            )
    return None


def tools_problem(body: dict) -> str | None:
    for i, tool in enumerate(body.get("tools") or []):
        if not TOOL_NAME.match(str(tool.get("name", ""))):
            return f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
    return None
