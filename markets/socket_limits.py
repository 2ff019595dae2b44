"""Abuse limits of /ws: open sockets per client address, and messages a second per socket.

Both are counted in this server process, on its event loop, so that checking them costs no I/O:
behind nginx with N daphne processes an address may hold up to N times the per-process cap.
"""

from __future__ import annotations

import time
from collections import Counter

from scalpaiboard.metrics import WEBSOCKETS

# A socket whose refused messages have cost this many seconds' worth of tokens is flooding.
FLOOD_SECONDS = 5


class OpenSockets:
    """The accepted /ws sockets of this process by client address; the connections gauge reads it.

    Consumers admit themselves before accepting and release themselves when their ASGI
    application ends, however it ends (close, crash or cancellation), so no count can leak.
    """

    def __init__(self):
        self.by_address: Counter[str | None] = Counter()
        self.total = 0

    def admit(self, address: str | None, *, cap: int) -> bool:
        """Count one more socket from ``address``, unless it already has ``cap`` (0: no cap).

        Sockets with no known address (a Unix socket, a test) are counted but never capped.
        """
        if cap and address is not None and self.by_address[address] >= cap:
            return False
        self.by_address[address] += 1
        self.total += 1
        return True

    def release(self, address: str | None) -> None:
        """Count one socket from ``address`` fewer."""
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]
        self.total -= 1

    def count(self, address: str | None) -> int:
        return self.by_address.get(address, 0)


OPEN_SOCKETS = OpenSockets()
WEBSOCKETS.set_function(lambda: OPEN_SOCKETS.total)


class MessageRate:
    """A token bucket: ``per_second`` messages a second on average, in bursts of as many (0: no limit).

    O(1) a message. A refused message costs a token too, so the balance goes below zero while a
    client keeps sending regardless, and it is ``flooding`` once it owes FLOOD_SECONDS' worth.
    """

    __slots__ = ("per_second", "tokens", "updated")

    def __init__(self, per_second: int):
        self.per_second = per_second
        self.tokens = float(per_second)
        self.updated = time.monotonic()

    def admit(self) -> bool:
        """Take a token for one message: True if the balance allows it."""
        if not self.per_second:
            return True
        now = time.monotonic()
        self.tokens = min(self.per_second, self.tokens + (now - self.updated) * self.per_second) - 1
        self.updated = now
        return self.tokens >= 0

    @property
    def flooding(self) -> bool:
        return self.tokens <= -self.per_second * FLOOD_SECONDS
