"""Serve the Telegram imitation on its own: ``python -m alerts.tests.telegram_imitation --help``.

It prints ``listening <port>`` once it accepts connections. Besides the Bot API it answers
``GET /_imitation/messages`` (what the bot sent), ``GET /_imitation/stats`` (the most messages seen
in each of Telegram's rate windows) and ``POST /_imitation/updates`` (``{"chat_id", "text"}``: a user
writes to the bot).
"""

from __future__ import annotations

import argparse

from alerts.tests.telegram_imitation import TelegramImitation
from tests.local_server import serve_from_command_line


def imitation(options: argparse.Namespace) -> TelegramImitation:
    """The Telegram imitation the options describe."""
    return TelegramImitation(options.token, webhook_https_only=not options.webhook_http)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", default="123456:TEST-imitation-token", help="the bot token it accepts")
    parser.add_argument("--webhook-http", action="store_true", help="accept http:// webhook URLs (Telegram does not)")
    serve_from_command_line(parser, imitation)


if __name__ == "__main__":
    main()
