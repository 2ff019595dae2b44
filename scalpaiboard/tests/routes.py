"""Every route the project has, for tests that go through all of them."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.urls import URLPattern, URLResolver, get_resolver

SAMPLE_ARGUMENTS = {
    "symbol": "BTC", "id": "1", "pk": "1", "message_id": "1", "conversation_id": "1", "action_id": "1",
    "token": "00000000-0000-4000-8000-000000000000",
}  # fmt: skip


def routes() -> list[tuple[str, Callable]]:
    """(path, view) of every URL pattern, with BTC for a symbol and 1 for an id (other arguments stay as written)."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_ARGUMENTS.get(m[1], m[0]), route)
                found.append(("/" + path, pattern.callback))

    walk(get_resolver().url_patterns, "")
    return found
