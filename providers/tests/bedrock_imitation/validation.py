"""The checks Bedrock's Converse API makes on a request before it runs the model.

Bedrock answers 400 ValidationException when roles do not alternate, when a text block is blank,
when a toolUseId has characters outside its pattern, or when tool blocks appear without a
`toolConfig`. The imitation makes the same checks, so a test fails where Bedrock would refuse.
"""

from __future__ import annotations

import itertools
import re

START_WITH_USER = (
    "A conversation must start with a user message. Try again with a conversation that starts with a user message."
)
ALTERNATE = (
    "A conversation must alternate between user and assistant roles. "
    "Make sure the conversation alternates between user and assistant roles and try again."
)
EMPTY_CONTENT = (
    "The content field in the Message object is empty. Add a ContentBlock object to the content field and try again."
)
BLANK_TEXT = "The text field in the ContentBlock object is blank. Add text to the text field, and try again."
NO_TOOL_CONFIG = "The toolConfig field must be defined when using toolUse and toolResult content blocks."
BAD_TOOL_USE_ID = (
    "1 validation error detected: Value at 'messages.content.toolUseId' failed to satisfy constraint: "
    "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"
)
TOOL_USE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def converse_problem(body: dict) -> str | None:
    """The ValidationException message Bedrock would give this ConverseStream body, or None."""
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return START_WITH_USER
    for previous, current in itertools.pairwise(messages):
        if previous.get("role") == current.get("role"):
            return ALTERNATE
    for message in messages:
        problem = _content_problem(message.get("content") or [], has_tools=bool(body.get("toolConfig")))
        if problem:
            return problem
    return _answers_problem(messages)


def _content_problem(blocks: list[dict], *, has_tools: bool) -> str | None:
    if not blocks:
        return EMPTY_CONTENT
    for block in blocks:
        if "text" in block and not block["text"].strip():
            return BLANK_TEXT
        tool_block = block.get("toolUse") or block.get("toolResult")
        if tool_block is None:
            continue
        if not has_tools:
            return NO_TOOL_CONFIG
        if not TOOL_USE_ID.match(tool_block.get("toolUseId", "")):
            return BAD_TOOL_USE_ID
    return None


def _answers_problem(messages: list[dict]) -> str | None:
    """Each assistant toolUse must be answered by a toolResult in the very next (user) message."""
    for index, message in enumerate(messages):
        asked = {b["toolUse"]["toolUseId"] for b in message["content"] if "toolUse" in b}
        if not asked:
            continue
        following = messages[index + 1]["content"] if index + 1 < len(messages) else []
        answered = {b["toolResult"]["toolUseId"] for b in following if "toolResult" in b}
        missing, extra = asked - answered, answered - asked
        if index + 1 < len(messages) and missing:
            ids = ", ".join(sorted(missing))
            return f"Expected toolResult blocks at messages.{index + 1}.content for the following Ids: {ids}"
        if extra:
            return f"messages.{index + 1}.content: toolResult blocks answer no toolUse of the previous turn"
    return None
