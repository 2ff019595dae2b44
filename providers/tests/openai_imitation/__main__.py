"""Serve the chat-completions imitation on its own: ``python -m providers.tests.openai_imitation --help``.

A benchmark runs it in a process of its own, so that it does not compete with the client it serves
for the interpreter. Every request is answered with the same turn (`--tokens` text chunks); it prints
``listening <port>`` once it accepts connections (base URL ``http://127.0.0.1:<port>/v1``).
"""

from __future__ import annotations

import argparse

from providers.tests.imitation_script import Turn
from providers.tests.openai_imitation import OpenAIImitation
from providers.tests.openai_imitation.wire import FLAVORS
from tests.local_server import serve_from_command_line


def imitation(options: argparse.Namespace) -> OpenAIImitation:
    """The chat-completions imitation the options describe."""
    turn = Turn(
        text=tuple(f"tok{i} " for i in range(options.tokens)),
        input_tokens=options.input_tokens,
        output_tokens=options.tokens,
        delay=options.delay,
    )
    return OpenAIImitation(flavor=options.flavor, api_key=options.api_key, default_turn=turn, record=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavor", choices=FLAVORS, default="openai")
    parser.add_argument("--api-key", default=None, help="require this bearer token (default: any)")
    parser.add_argument("--tokens", type=int, default=200, help="text chunks in each answer")
    parser.add_argument("--input-tokens", type=int, default=100, help="prompt tokens reported")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chunk")
    serve_from_command_line(parser, imitation)


if __name__ == "__main__":
    main()
