"""Load the coin universe and back-fill candles: the first set-up, and catching up after downtime."""

import time

from django.core.management.base import BaseCommand

from markets.services import coins_seed, history_extend
from markets.sources import market_source


class Command(BaseCommand):
    help = "Create the seed coins that are missing and back-fill every coin's candles up to now."

    def handle(self, *args, **options):
        started = time.monotonic()
        created = coins_seed()
        bars = history_extend(source=market_source())
        if created or bars:
            self.stdout.write(
                f"Market loaded: {created} new coins, {bars:,} candles in {time.monotonic() - started:.1f} s."
            )
