"""Serve the Anthropic imitation on its own: ``python -m providers.tests.anthropic_imitation --help``.

The benchmarks run it in a process of its own, so that it does not compete with the clients it
serves for the interpreter. Every request is answered with the same turn (``--chunks`` text chunks of
``--chunk`` each). It prints ``listening <url>`` once it accepts connections.
"""

from __future__ import annotations

import argparse

from providers.tests.anthropic_imitation import DEFAULT_KEY, AnthropicImitation
from providers.tests.imitation_script import Turn
from tests.local_server import serve_from_command_line


def imitation(options: argparse.Namespace) -> AnthropicImitation:
    """The Anthropic imitation the options describe."""
    turn = Turn(
        text=(options.chunk,) * options.chunks,
        input_tokens=options.input_tokens,
        output_tokens=options.chunks,
        delay=options.delay,
    )
    return AnthropicImitation(api_key=options.key, default_turn=turn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", default=DEFAULT_KEY, help="the API key it accepts")
    parser.add_argument("--chunks", type=int, default=300, help="text chunks (one token each) per answer")
    parser.add_argument("--chunk", default="tok ", help="the text of each chunk")
    parser.add_argument("--input-tokens", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chunk")
    serve_from_command_line(parser, imitation, address=lambda served: served.url)


if __name__ == "__main__":
    main()
