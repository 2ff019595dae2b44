"""Load the coin universe and back-fill candles: the first set-up, catching up after downtime, and
replacing another source's market data when MARKET_SOURCE changed."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from markets.services import coins_seed, coins_sync, history_extend
from markets.source_switch import market_data_switch
from markets.sources import market_source


class Command(BaseCommand):
    help = (
        "Create the coins that are missing (the seed file's, or the exchange's top MARKET_TOP_N with "
        "MARKET_SOURCE=binance) and back-fill every coin's candles up to now. Market data stored from "
        "another source is replaced by this one's."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        source = market_source()
        listings = source.listings()
        if market_data_switch(source=source, listings=listings, top_n=settings.MARKET_TOP_N) is not None:
            return  # the switch logged what it replaced
        if listings is None:
            created = coins_seed()
        else:
            created = len(coins_sync(listings=listings, top_n=settings.MARKET_TOP_N)[0])
        bars = history_extend(source=source)
        if created or bars:
            self.stdout.write(
                f"Market loaded: {created} new coins, {bars:,} candles in {time.monotonic() - started:.1f} s."
            )
