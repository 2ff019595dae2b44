"""Run the local servers that imitate outside services (Binance, Telegram, the AI providers).

Each imitation is an object with async ``start(host=..., port=...)`` and ``close()``. Tests serve one
from a thread with its own event loop (`serving_in_thread`), so that synchronous code and other event
loops can call it; the benchmarks serve one from a process of its own (`serve_from_command_line`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Protocol

from aiohttp import web

# Seconds to wait for the server to start and to close; a local server needs far less.
WAIT = 10


class LocalServer(Protocol):
    async def start(self, host: str = ..., port: int = ...) -> None: ...

    async def close(self) -> None: ...


async def listen(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``host``:``port`` (0: a free port); its runner (to clean up) and the port taken."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@contextlib.contextmanager
def serving_in_thread[Server: LocalServer](server: Server, name: str) -> Iterator[Server]:
    """``server`` started on an event loop of its own in a daemon thread ``name``, closed after the block."""
    loop = asyncio.new_event_loop()

    def run_loop() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=run_loop, name=name, daemon=True)
    thread.start()
    try:
        _wait(server.start(), loop)  # raises what start() raised, so a server that cannot listen fails the test
        try:
            yield server
        finally:
            _wait(server.close(), loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()


def serve_from_command_line[Server: LocalServer](
    parser: argparse.ArgumentParser,
    build: Callable[[argparse.Namespace], Server],
    address: Callable[[Server], object] = lambda server: server.port,
) -> None:
    """Serve ``build(options)`` on ``--port`` until the process is killed.

    Prints ``listening <address>`` once it accepts connections: the benchmarks wait for that line.
    """
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    options = parser.parse_args()

    async def serve() -> None:
        server = build(options)  # on the loop that serves it
        await server.start(port=options.port)
        print(f"listening {address(server)}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


def _wait(coroutine: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop) -> None:
    asyncio.run_coroutine_threadsafe(coroutine, loop).result(WAIT)
