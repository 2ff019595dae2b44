"""Serve the Telegram imitation on its own: ``python -m alerts.tests.telegram_imitation --help``.

It prints ``listening <port>`` once it accepts connections. Besides the Bot API it answers
``GET /_imitation/messages`` (what the bot sent), ``GET /_imitation/stats`` (the most messages seen
in each of Telegram's rate windows) and ``POST /_imitation/updates`` (``{"chat_id", "text"}``: a user
writes to the bot).
"""

from __future__ import annotations

import argparse
import asyncio

from alerts.tests.telegram_imitation import TelegramImitation


async def serve(options: argparse.Namespace) -> None:
    imitation = TelegramImitation(options.token, webhook_https_only=not options.webhook_http)
    await imitation.start(port=options.port)
    print(f"listening {imitation.port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="123456:TEST-imitation-token", help="the bot token it accepts")
    parser.add_argument("--webhook-http", action="store_true", help="accept http:// webhook URLs (Telegram does not)")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
