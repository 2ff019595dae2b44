"""Experiment (``bench/assistant.py --asgi-app bench._assistant_async_sse:application``): the chat's
Server-Sent Events from an ASYNC iterator over ``relay_follow``, for an A/B run against main.

In main, ``assistant/api/views.py`` hands StreamingHttpResponse a SYNC generator (``relay_read`` in a
loop). Under ASGI Django cannot stream a sync iterator: ``StreamingHttpResponse.__aiter__`` falls back
to ``sync_to_async(list)(...)`` (django/http/response.py), so daphne sends nothing until the answer is
done. This module swaps the views' ``_stream`` for one that streams each event as it comes, the rest
of the application unchanged, to measure what the fix gives.

It also gives ``relay_follow``'s asyncio Redis client no read timeout (``socket_timeout=None``, as the
sync client in relay.py has): redis-py 8's asyncio client defaults to 5 s (redis/_defaults.py), so an
``XREAD BLOCK`` waiting longer than that for the next event (a busy worker, a slow provider, a tool
that takes a while) raises ``TimeoutError: Timeout reading from 127.0.0.1:6379`` in daphne.
"""

from __future__ import annotations

from django.conf import settings
from django.http import StreamingHttpResponse

import scalpaiboard.asgi
from assistant import relay
from assistant.api import views
from assistant.relay import FINAL, relay_follow


async def _events(message_id: int, after: int):
    last = None
    idle = settings.ASSISTANT_STREAM_IDLE_SECONDS
    async for item in relay_follow(message_id=message_id, after=after, idle_timeout=idle):
        last = item
        yield views._frame(item)
    if last is None or last["event"] not in FINAL:
        seq = (last or {"seq": after})["seq"] + 1
        yield views._frame({"seq": seq, "event": "error", "data": {"message": "The answer stopped arriving."}})


def _stream(message_id: int, after: int = 0) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_events(message_id, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _async_redis():
    import asyncio

    import redis.asyncio

    loop = asyncio.get_running_loop()
    client = relay._async_clients.get(id(loop))
    if client is None:
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=None)
        relay._async_clients[id(loop)] = client
    return client


views._stream = _stream
relay._async_redis = _async_redis
application = scalpaiboard.asgi.application
