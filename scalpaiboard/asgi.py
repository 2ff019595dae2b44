"""ASGI entry point. In embedded mode it also starts the market feed on the server's event loop, and the
notification sender in the server's process."""

from __future__ import annotations

import asyncio
import logging
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scalpaiboard.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from scalpaiboard.routing import application as router  # noqa: E402

logger = logging.getLogger(__name__)


class EmbeddedFeed:
    """Wraps the router and starts the feed once, on the loop that serves the first connection.

    The in-memory channel layer belongs to one event loop, so the feed must run on the
    server's own. ASGI servers that send a lifespan scope start it at once; daphne, which
    sends none, starts it with the first request.
    """

    def __init__(self, app):
        self.app = app
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        if self.task is None:
            from markets.feed import Feed
            from markets.sources import market_source

            feed = Feed(source=market_source())
            self.task = asyncio.get_running_loop().create_task(feed.run_forever(), name="market-feed")
            logger.info("Market feed started inside the server (embedded mode)")
            if settings.CELERY_TASK_ALWAYS_EAGER:
                # Deliveries a restart interrupted go out without waiting for the next firing.
                from alerts.dispatch import local_sender

                local_sender().start()

    async def __call__(self, scope, receive, send):
        self.start()
        if scope["type"] == "lifespan":
            return await self.lifespan(receive, send)
        return await self.app(scope, receive, send)

    async def lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.task is not None:
                    self.task.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return


application = EmbeddedFeed(router) if settings.FEED_EMBEDDED else router
