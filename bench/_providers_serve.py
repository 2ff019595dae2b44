"""One provider imitation in a process of its own, for ``bench/providers.py``.

``python bench/_providers_serve.py FAMILY TURN [--chunks N]`` starts the family's local server (the
same classes the tests use, from ``providers/tests/*_imitation``) answering every request with one
scripted turn, and prints ``listening <base url>`` once it accepts connections. Its own process, so
that the server's event loop does not share the benchmark's interpreter (and GIL) with the client
being timed. The packages' own ``python -m`` entry points serve text turns only; this one also serves
the tool-call turn, and all families the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from providers.tests.imitation_script import ScriptedToolCall, Turn

# family -> (module, class, keyword arguments of the constructor)
IMITATIONS = {
    "openai": ("providers.tests.openai_imitation", "OpenAIImitation", {"record": False}),
    "anthropic": ("providers.tests.anthropic_imitation", "AnthropicImitation", {}),
    "bedrock": ("providers.tests.bedrock_imitation", "BedrockImitation", {}),
    "google": ("providers.tests.google_imitation", "GoogleImitation", {}),
}
# The tool turn: a short sentence, then one call whose arguments arrive in fragments.
TOOL_TEXT = ("Let ", "me ", "look ", "at ", "the ", "chart ", "first. ")
TOOL_CALL = ScriptedToolCall(
    id="call_bench0001",
    name="coin_chart",
    argument_fragments=('{"sym', 'bol": "BTC', 'USDT", "inter', 'val": "1h", ', '"limit": 200}'),
)


def scripted_turn(kind: str, chunks: int) -> Turn:
    """The turn every request gets: ``chunks`` one-token text chunks, or the tool turn."""
    if kind == "text":
        return Turn(text=tuple(f"tok{i} " for i in range(chunks)), input_tokens=120, output_tokens=chunks)
    return Turn(text=TOOL_TEXT, tool_calls=(TOOL_CALL,), input_tokens=300, output_tokens=len(TOOL_TEXT) + 20)


async def serve(family: str, turn: Turn) -> None:
    module, name, kwargs = IMITATIONS[family]
    imitation = getattr(importlib.import_module(module), name)(default_turn=turn, **kwargs)
    await imitation.start()
    print(f"listening {imitation.url}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=sorted(IMITATIONS))
    parser.add_argument("turn", choices=("text", "tool"))
    parser.add_argument("--chunks", type=int, default=200)
    options = parser.parse_args()
    asyncio.run(serve(options.family, scripted_turn(options.turn, options.chunks)))


if __name__ == "__main__":
    main()
