"""A local Telegram Bot API for the tests and benchmarks, on 127.0.0.1.

``TelegramImitation`` answers ``{root}/bot{token}/{method}`` as Telegram does (``server``), parses
HTML parse mode as Telegram does (``entities``), fails on script (429 with ``retry_after``, 403
blocked, 400 chat not found, 5xx) and records what it was sent; ``imitation_running`` runs it in a
thread of its own. Run it alone with ``python -m alerts.tests.telegram_imitation --help``.
"""

from alerts.tests.telegram_imitation.server import (
    BAD_GATEWAY,
    BLOCKED,
    CHAT_NOT_FOUND,
    KICKED,
    SERVER_ERROR,
    Failure,
    SentMessage,
    TelegramImitation,
    imitation_running,
    migrated,
    too_many_requests,
)

__all__ = [
    "BAD_GATEWAY",
    "BLOCKED",
    "CHAT_NOT_FOUND",
    "KICKED",
    "SERVER_ERROR",
    "Failure",
    "SentMessage",
    "TelegramImitation",
    "imitation_running",
    "migrated",
    "too_many_requests",
]
