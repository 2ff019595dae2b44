"""Telegram's HTML parse mode as the Bot API applies it to sendMessage's ``text``: the supported tags,
the four named entities and numeric ones, and a 400 "can't parse entities: ..." for anything else, so
that a client that escapes badly or splits a message inside a tag is refused as Telegram refuses it.
"""

from __future__ import annotations

import re

# https://core.telegram.org/bots/api#html-style
TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}
NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
ENTITY = re.compile(r"&(?:#(\d{1,7})|#x([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
TAG_NAME = re.compile(r"/?([a-zA-Z][a-zA-Z0-9-]*)")


class EntitiesError(ValueError):
    """Text the parse mode refuses; the message is Telegram's description after "can't parse entities: "."""


def html_plain(text: str) -> str:
    """The text a user sees once Telegram parsed ``text`` in HTML mode; EntitiesError when it cannot."""
    plain, open_tags, i = [], [], 0
    while i < len(text):
        char = text[i]
        if char == "<":
            i = _tag(text, i, open_tags)
        elif char == "&":
            decoded, i = _entity(text, i)
            plain.append(decoded)
        elif char == ">":
            raise EntitiesError(f"Character '>' is reserved and must be escaped at byte offset {_offset(text, i)}")
        else:
            plain.append(char)
            i += 1
    if open_tags:
        raise EntitiesError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(plain)


def _tag(text: str, i: int, open_tags: list[str]) -> int:
    end = text.find(">", i)
    if end < 0:
        raise EntitiesError(f"Unclosed start tag at byte offset {_offset(text, i)}")
    match = TAG_NAME.match(text, i + 1, end)
    if match is None:
        raise EntitiesError(f"Empty tag name at byte offset {_offset(text, i)}")
    name = match.group(1).lower()
    if text[i + 1] == "/":
        if not open_tags or open_tags[-1] != name:
            expected = f'expected "</{open_tags[-1]}>", ' if open_tags else ""
            raise EntitiesError(f'Unmatched end tag at byte offset {_offset(text, i)}, {expected}found "</{name}>"')
        open_tags.pop()
    elif name not in TAGS:
        raise EntitiesError(f'Unsupported start tag "{name}" at byte offset {_offset(text, i)}')
    else:
        open_tags.append(name)
    return end + 1


def _entity(text: str, i: int) -> tuple[str, int]:
    match = ENTITY.match(text, i)
    if match is None or (match.group(3) and match.group(3) not in NAMED):
        raise EntitiesError(f"Character '&' is reserved and must be escaped at byte offset {_offset(text, i)}")
    decimal, hexadecimal, name = match.groups()
    if name:
        return NAMED[name], match.end()
    return chr(int(decimal) if decimal else int(hexadecimal, 16)), match.end()


def _offset(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))
