"""Experiment, not project code: /ws fan-out without channels' per-message DB-connection cleanup.

``channels.consumer.AsyncConsumer.dispatch`` awaits ``aclose_old_connections()`` -- a
``sync_to_async`` hop to the one thread-sensitive thread -- before EVERY handler call, so one
"prices" batch fanned out to N consumers costs N serialised thread hops. ``prices_batch`` touches
no database, so this skips the cleanup for that message type only.

    .venv/bin/python bench/ws_latency.py --asgi-app bench.experiments.ws_skip_db_cleanup:application
"""

# isort: off
from scalpaiboard.asgi import application  # first: it sets Django up
from markets.consumers import MarketConsumer

# isort: on

__all__ = ["application"]


async def dispatch(self, message):
    if message["type"] == "prices.batch":
        return await self.prices_batch(message)
    return await super(MarketConsumer, self).dispatch(message)


MarketConsumer.dispatch = dispatch
