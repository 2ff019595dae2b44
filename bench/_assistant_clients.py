"""The streaming clients of ``bench/assistant.py`` and what they make of a stream.

One client code path reads both ends: the assistant's Server-Sent Events (``POST /api/ai/chat``) and,
for the baseline, the provider's own chat-completions stream. Each notes the machine clock
(``time.time()``) when its event loop got each event, so that a token's ``<index@sent>`` text
(bench/_assistant_provider.py) gives its delay, and the indices tell what was lost, repeated or
reordered.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field

import aiohttp

TOKEN = re.compile(r"<(\d+)@([0-9.]+)>")


@dataclass
class Stream:
    """What one client saw: (index, sent, arrived) per token, in arrival order, and the events' times."""

    tokens: list[tuple[int, float, float]] = field(default_factory=list)
    events: list[tuple[str, dict, float]] = field(default_factory=list)
    started: float = 0.0
    error: str = ""

    def take(self, text: str, arrived: float) -> None:
        for index, sent in TOKEN.findall(text):
            self.tokens.append((int(index), float(sent), arrived))

    def first(self, name: str) -> float | None:
        return next((at for event, _, at in self.events if event == name), None)


async def _lines(response: aiohttp.ClientResponse):
    """The stream's lines as they come, each with the time its chunk was received."""
    buffer = b""
    async for chunk in response.content.iter_any():
        now = time.time()
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode(), now


async def chat(session: aiohttp.ClientSession, url: str, message: str, authorization: str) -> Stream:
    """Ask the assistant; read its events to the end."""
    stream = Stream(started=time.time())
    try:
        await _chat(session, url, message, authorization, stream)
    except (aiohttp.ClientError, TimeoutError) as failed:
        stream.error = f"{type(failed).__name__}: {failed}"
    return stream


async def _chat(session: aiohttp.ClientSession, url: str, message: str, authorization: str, stream: Stream) -> None:
    headers = {"Authorization": authorization}  # no Accept: text/event-stream, which DRF refuses (406)
    async with session.post(url, json={"message": message}, headers=headers) as response:
        if response.status != 200:
            stream.error = f"{response.status}: {(await response.text())[:200]}"
            return
        event = ""
        async for line, now in _lines(response):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                stream.events.append((event, data, now))
                if event == "token":
                    stream.take(data["text"], now)
                elif event == "error":
                    stream.error = data.get("message", "error")


async def direct(session: aiohttp.ClientSession, base: str) -> Stream:
    """The baseline: the provider's own stream, read by the same kind of client, nobody in between."""
    stream = Stream(started=time.time())
    body = {"model": "gpt-imitation", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    async with session.post(f"{base}/chat/completions", json=body) as response:
        async for line, now in _lines(response):
            if line.startswith("data: ") and line != "data: [DONE]":
                for choice in json.loads(line[6:]).get("choices") or ():
                    stream.take(choice.get("delta", {}).get("content") or "", now)
    return stream


@dataclass
class Integrity:
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    streams_failed: int = 0


def integrity(streams: list[Stream], expected: int) -> Integrity:
    """Tokens missing, seen twice, or arriving after a later one, over every stream."""
    found = Integrity()
    for stream in streams:
        indices = [index for index, _, _ in stream.tokens]
        found.lost += len(set(range(expected)) - set(indices))
        found.duplicated += len(indices) - len(set(indices))
        found.reordered += sum(1 for a, b in itertools.pairwise(indices) if b < a)
        found.streams_failed += bool(stream.error)
    return found


def delays_ms(streams: list[Stream]) -> list[float]:
    """Arrival minus sending, in ms, of every token of every stream, sorted."""
    return sorted((arrived - sent) * 1000 for stream in streams for _, sent, arrived in stream.tokens)
