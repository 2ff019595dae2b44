"""Run the market feed as its own process (full stack): source -> snapshot, candles, market events (/ws groups)."""

import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from markets.feed import Feed
from markets.sources import market_source

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Stream the configured market source (MARKET_SOURCE) into the cache, database and channel layer."

    def handle(self, *args, **options):
        asyncio.run(self.serve())

    async def serve(self) -> None:
        feed = Feed(source=market_source())
        task = asyncio.create_task(feed.run_forever())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        logger.info("Market feed running: source=%s", settings.MARKET_SOURCE)
        try:
            await task
        except asyncio.CancelledError:
            logger.info("Market feed stopped")
