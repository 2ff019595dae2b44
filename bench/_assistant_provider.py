"""The provider of ``bench/assistant.py``: OpenAI chat completions (the imitation's wire format,
providers/tests/openai_imitation/wire.py) whose every text chunk says when it was sent.

Each answer is ``--tokens`` chunks, one every ``--gap`` seconds (a fixed schedule: a late chunk does
not push the next ones back); chunk ``i`` reads ``<i@T>`` with ``T`` the sender's ``time.time()``
just before the write, so that a client anywhere on the machine can tell, for each token, how long it
took to reach it, and whether any is missing, repeated or out of order.
Prints ``listening <port>`` once it accepts connections. Run from the project root:
``python bench/_assistant_provider.py --tokens 300 --gap 0.01``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from providers.tests.imitation_script import Turn
from providers.tests.openai_imitation import wire


def token_text(index: int) -> str:
    return f"<{index}@{time.time():.6f}>"


class Provider:
    def __init__(self, tokens: int, gap: float):
        self.tokens, self.gap = tokens, gap

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        writer = wire.ChunkWriter(model=body["model"], include_usage=include_usage, flavor="openai")
        await response.write(wire.sse(writer.chunk({"role": "assistant", "content": ""})))
        start = time.monotonic()
        for index in range(self.tokens):
            delay = start + (index + 1) * self.gap - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await response.write(wire.sse(writer.chunk({"content": token_text(index)})))
        for chunk in writer.ending(Turn(input_tokens=100, output_tokens=self.tokens)):
            await response.write(wire.sse(chunk))
        await response.write(wire.DONE)
        await response.write_eof()
        return response

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "gpt-imitation", "object": "model"}]})


async def serve(options: argparse.Namespace) -> None:
    provider = Provider(options.tokens, options.gap)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", provider.chat)
    app.router.add_get("/v1/models", provider.models)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", options.port)
    await site.start()
    print(f"listening {site._server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between chunks")
    options = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(options))


if __name__ == "__main__":
    main()
