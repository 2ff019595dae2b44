"""Serve the chat-completions imitation on its own: ``python -m providers.tests.openai_imitation --help``.

A benchmark runs it in a process of its own, so that it does not compete with the client it serves
for the interpreter. Every request is answered with the same turn (`--tokens` text chunks); it prints
``listening <port>`` once it accepts connections (base URL ``http://127.0.0.1:<port>/v1``).
"""

from __future__ import annotations

import argparse
import asyncio

from providers.tests.imitation_script import Turn
from providers.tests.openai_imitation import OpenAIImitation
from providers.tests.openai_imitation.wire import FLAVORS


async def serve(options: argparse.Namespace) -> None:
    turn = Turn(
        text=tuple(f"tok{i} " for i in range(options.tokens)),
        input_tokens=options.input_tokens,
        output_tokens=options.tokens,
        delay=options.delay,
    )
    imitation = OpenAIImitation(flavor=options.flavor, api_key=options.api_key, default_turn=turn, record=False)
    await imitation.start(port=options.port)
    print(f"listening {imitation.port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--flavor", choices=FLAVORS, default="openai")
    parser.add_argument("--api-key", default=None, help="require this bearer token (default: any)")
    parser.add_argument("--tokens", type=int, default=200, help="text chunks in each answer")
    parser.add_argument("--input-tokens", type=int, default=100, help="prompt tokens reported")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chunk")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
