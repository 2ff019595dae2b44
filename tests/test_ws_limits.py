"""/ws limits as clients meet them through a real daphne: answers, close codes and refused handshakes.

daphne (autobahn underneath) decides some of them itself: the size limit, UTF-8 validity, the
403 of a refused handshake; see scalpaiboard/daphne_websocket.py for how the project sets them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets
import yaml

from markets.tests.test_consumers import MALFORMED_FRAMES
from tests.processes import BIN, Processes, free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
FRAME_LIMIT = 65000  # above the 10,000-deep frames of MALFORMED_FRAMES (60,001 bytes at most)
ENV = {
    "FEED_EMBEDDED": "false",
    "WS_MAX_FRAME_BYTES": str(FRAME_LIMIT),
    "WS_MESSAGES_PER_SECOND": "20",
    "WS_ALLOWED_ORIGINS": "https://app.example.com",
}
STAR = json.dumps({"action": "subscribe", "symbols": "*"})


@pytest.fixture(scope="module")
def daphne(django_db_setup, tmp_path_factory):
    """One daphne on the test database with small limits, for the tests of this module."""
    group = Processes(tmp_path_factory.mktemp("daphne"))
    try:
        yield group.daphne(**ENV).replace("http", "ws") + "/ws"
    finally:
        group.stop()


def connect(url: str, **options):
    return websockets.connect(url, proxy=None, open_timeout=10, max_size=None, **options)


async def closed_with(ws, replies: list | None = None) -> int | None:
    """The code of the close frame the server sent (None: the connection was dropped without one).

    The messages that came before it are added to ``replies``.
    """
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            reply = await asyncio.wait_for(ws.recv(), timeout=10)
            if replies is not None:
                replies.append(json.loads(reply))
    return closed.value.rcvd.code if closed.value.rcvd else None


async def reply_then_still_open(url: str, frame: str) -> tuple[dict, dict]:
    async with connect(url) as ws:
        await ws.send(frame)
        reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        await ws.send(STAR)
        return reply, json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


SENDABLE = [p for p in MALFORMED_FRAMES if p.id != "raw lone surrogate"]  # not UTF-8: see the 1007 test


@pytest.mark.parametrize(("raw", "error"), SENDABLE)
def test_malformed_frames_get_an_error_and_the_socket_stays_open(daphne, raw, error):
    reply, after = asyncio.run(reply_then_still_open(daphne, raw))
    assert reply["type"] == "error" and error in reply["message"]
    assert after == {"type": "subscribed", "channel": "prices", "symbols": "*"}


@pytest.mark.parametrize("size", [FRAME_LIMIT + 1, 2 * 1024 * 1024])
def test_a_frame_over_the_limit_is_closed_with_1009_not_dropped(daphne, size):
    async def send_too_much() -> tuple[dict, int | None]:
        async with connect(daphne) as ws:
            await ws.send("x" * FRAME_LIMIT)  # at the limit: answered
            answered = json.loads(await ws.recv())
            await ws.send("x" * size)
            return answered, await closed_with(ws)

    answered, code = asyncio.run(send_too_much())
    assert answered["type"] == "error" and code == 1009


def test_a_flooding_socket_is_closed_with_1008(daphne):
    async def flood() -> tuple[list[dict], int | None]:
        async with connect(daphne) as ws:
            for _ in range(500):  # WS_MESSAGES_PER_SECOND=20: closed after 100 refused in a row
                await ws.send("{}")
            replies = []
            return replies, await closed_with(ws, replies)

    replies, code = asyncio.run(flood())
    assert code == 1008
    assert sum("too many messages" in r["message"] for r in replies) >= 99
    assert len(replies) < 500  # what followed the close was not answered


def test_a_text_frame_that_is_not_utf8_is_closed_with_1007(daphne):
    async def send_latin1() -> int | None:
        async with connect(daphne) as ws:
            await ws.send('{"action": "caf\xe9"}'.encode("latin1"), text=True)
            return await closed_with(ws)

    assert asyncio.run(send_latin1()) == 1007


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("http://127.0.0.1:{port}", True),
        ("http://127.0.0.1:9999", False),
        ("https://127.0.0.1:{port}", False),
        ("http://localhost:{port}", False),  # the handshake is addressed to 127.0.0.1
        ("https://app.example.com", True),  # WS_ALLOWED_ORIGINS
        ("http://app.example.com", False),
    ],
)
def test_the_origin_must_match_scheme_host_and_port(daphne, origin, accepted):
    port = daphne.rsplit(":", 1)[1].split("/")[0]

    async def handshake() -> bool:
        try:
            async with connect(daphne, origin=origin.format(port=port)) as ws:
                await ws.send(STAR)
                return json.loads(await ws.recv())["type"] == "subscribed"
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code == 403
            return False

    assert asyncio.run(handshake()) is accepted


def compose_daphne(port: int) -> list[str]:
    """The web service's daphne command from docker-compose.yml, listening on ``port`` of the loopback."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    args = compose["services"]["web"]["command"][1:]
    args[args.index("-b") + 1] = "127.0.0.1"
    args[args.index("-p") + 1] = str(port)
    return [str(BIN / "daphne"), *args]


def test_sockets_per_address_count_the_client_nginx_names_not_nginx(db, tmp_path):
    """daphne run as docker-compose.yml runs it, sent the headers deploy/nginx.conf sets.

    Every socket comes from nginx's address: the cap must count the client nginx names, or all
    clients would share one quota. nginx replaces the client's own X-Forwarded-For, whose first
    address daphne takes, so that a client cannot name itself.
    """
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in (ROOT / "deploy" / "nginx.conf").read_text()
    port = free_port()
    group = Processes(tmp_path)
    group.start("daphne", *compose_daphne(port), FEED_EMBEDDED="false", WS_MAX_SOCKETS_PER_ADDRESS="2")
    url = f"ws://127.0.0.1:{port}/ws"

    def through_nginx(client: str):
        headers = {"X-Forwarded-For": client, "X-Real-IP": client, "X-Forwarded-Proto": "http"}
        return connect(url, additional_headers=headers)

    async def third_and_other() -> tuple[bool, bool]:
        async with through_nginx("203.0.113.7"), through_nginx("203.0.113.7"):
            try:
                async with through_nginx("203.0.113.7"):
                    third = True
            except websockets.InvalidStatus as refused:
                third = refused.response.status_code != 403
            async with through_nginx("203.0.113.8"):
                return third, True

    async def probe() -> bool:
        async with connect(url):
            return True

    try:
        wait_for(lambda: asyncio.run(probe()), what="daphne", logs=group)
        assert asyncio.run(third_and_other()) == (False, True)
    finally:
        group.stop()
