"""Binance WebSocket streams against the local imitation: parsing, layout, pings, reconnects, watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

import orjson
import pytest

from markets.sources.base import BarUpdate, Resync, Tick
from markets.sources.binance import BinanceSource
from markets.sources.binance.streams import (
    MAX_URL_CHARS,
    BadMessage,
    ServerShutdown,
    StreamConnection,
    StreamOptions,
    message_parse,
    stream_url,
    streams_layout,
)
from markets.tests.binance_imitation import BinanceImitation, imitation_running, seed_symbols

PAIRS = {"BTCUSDT": "BTC", "ETHUSDT": "ETH"}
FAST = StreamOptions(silence=5.0, backoff_base=0.05, backoff_cap=1.0, open_timeout=2.0)


@pytest.fixture
def binance():
    imitation = BinanceImitation(seed_symbols(3), kline_push_interval=0.1, ticker_interval=0.1, ping_interval=0.25)
    with imitation_running(imitation):
        yield imitation


@contextlib.asynccontextmanager
async def streaming(imitation: BinanceImitation, options: StreamOptions = FAST, streams=None):
    """A connection to the imitation running on this loop; yields (connection, output queue)."""
    queue: asyncio.Queue = asyncio.Queue()
    connection = StreamConnection(
        base_url=imitation.ws_url,
        streams=streams or ["!miniTicker@arr", "btcusdt@kline_1m", "ethusdt@kline_1m"],
        pairs=PAIRS,
        output=queue,
        options=options,
    )
    task = asyncio.create_task(connection.run())
    try:
        yield connection, queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def drain(queue: asyncio.Queue, seconds: float) -> list:
    """Everything queued within ``seconds``, flattened."""
    events, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            events += await asyncio.wait_for(queue.get(), left)
        except TimeoutError:
            break
    return events


def combined(stream: str, data) -> bytes:
    return orjson.dumps({"stream": stream, "data": data})


# --- parsing and layout -------------------------------------------------------------------------


MINI = {"e": "24hrMiniTicker", "E": 1_732_400_000_123, "s": "BTCUSDT", "c": "97000.50", "o": "95000.00"}
MINI |= {"h": "97500.00", "l": "94000.00", "v": "1234.5", "q": "119000000.25"}
KLINE = {"e": "kline", "E": 1_732_400_001_000, "s": "ETHUSDT"}
KLINE |= {"k": {"t": 1_732_399_980_000, "T": 1_732_400_039_999, "s": "ETHUSDT", "i": "1m", "o": "3000.10"}}
KLINE["k"] |= {"c": "3001.00", "h": "3002.50", "l": "2999.00", "v": "12.5", "x": False}


def test_a_ticker_array_becomes_ticks_of_the_tracked_pairs():
    other = {**MINI, "s": "ETHBTC"}
    ticks = message_parse(combined("!miniTicker@arr", [MINI, other]), PAIRS)
    change = pytest.approx((97000.5 / 95000 - 1) * 100)
    assert ticks == [Tick("BTC", 97000.5, 0.0, 1_732_400_000_123, change, 119000000.25, 97500.0, 94000.0)]


def test_a_kline_becomes_an_update_of_the_coins_1m_bar():
    (update,) = message_parse(combined("ethusdt@kline_1m", KLINE), PAIRS)
    assert update == BarUpdate("ETH", 1_732_399_980, 3000.1, 3002.5, 2999.0, 3001.0, 12.5, False, 1_732_400_001_000)


def test_a_kline_of_an_untracked_pair_is_ignored():
    data = {**KLINE, "k": {**KLINE["k"], "s": "DOGEUSDT"}}
    assert message_parse(combined("dogeusdt@kline_1m", data), PAIRS) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"result": null, "id": 1}',
        combined("!miniTicker@arr", [{**MINI, "c": "a lot"}]),
        combined("btcusdt@kline_1m", {"E": 1, "k": {"s": "BTCUSDT"}}),
        combined("!miniTicker@arr", {"not": "a list"}),
    ],
)
def test_a_malformed_message_is_reported_as_bad(raw):
    with pytest.raises(BadMessage):
        message_parse(raw, PAIRS)


def test_the_server_shutdown_event_is_recognised():
    with pytest.raises(ServerShutdown):
        message_parse(combined("!serverShutdown", {"e": "serverShutdown", "E": 1}), PAIRS)


def test_streams_are_laid_out_within_the_stream_count_and_url_limits():
    streams = ["!miniTicker@arr"] + [f"coin{i:04d}usdt@kline_1m" for i in range(2000)]
    layout = streams_layout(streams, base_url="wss://stream.binance.com:9443", max_streams=1024)

    assert [s for part in layout for s in part] == streams
    assert all(len(part) <= 1024 for part in layout)
    assert all(len(stream_url("wss://stream.binance.com:9443", part)) <= MAX_URL_CHARS for part in layout)
    assert len(layout) == 6  # ~22 characters a stream: the URL limit binds before the stream count


# --- a connection's life ------------------------------------------------------------------------


async def test_a_connection_delivers_tickers_and_bars_after_announcing_a_resync(binance):
    async with streaming(binance) as (_, queue):
        events = await drain(queue, 0.6)

    assert isinstance(events[0], Resync)
    assert events[0].symbols == {"BTC", "ETH"}
    assert abs(events[0].since - binance.now()) < 2
    assert {e.symbol for e in events if isinstance(e, Tick)} == {"BTC", "ETH"}  # not SOL: untracked
    assert {e.symbol for e in events if isinstance(e, BarUpdate)} == {"BTC", "ETH"}


async def test_the_servers_pings_are_answered(binance):
    async with streaming(binance):
        await asyncio.sleep(1.4)
        (record,) = binance.open_connections()  # answering pings never broke the 5-messages-a-second limit

    assert record.pings >= 5
    assert record.pongs >= record.pings - 1  # every ping but perhaps the one in flight, same payload


async def test_streams_are_spread_over_connections_of_at_most_the_limit():
    imitation = BinanceImitation(seed_symbols(5), kline_push_interval=0.1, ticker_interval=0.1, max_streams=3)
    with imitation_running(imitation):
        options = dataclasses.replace(FAST, max_streams=3)
        source = BinanceSource(rest_url=imitation.rest_url, ws_url=imitation.ws_url, stream_options=options)
        source.symbols = [s.base for s in imitation.symbols.values()]
        updates = []
        async with contextlib.aclosing(source.ticks()) as batches:
            async for batch in batches:
                updates += batch
                if {u.symbol for u in updates if isinstance(u, BarUpdate)} == set(source.symbols):
                    break
        layout = sorted(len(c.streams) for c in imitation.connections)

    assert layout == [3, 3]  # the ticker array and 5 kline streams
    assert sum(isinstance(u, Resync) for u in updates) == 2  # one per connection


async def test_a_dropped_connection_reconnects_and_announces_a_resync(binance):
    binance.drop_after = 0.5
    async with streaming(binance) as (connection, queue):
        events = await drain(queue, 1.8)

    assert connection.connects >= 3
    resyncs = [e for e in events if isinstance(e, Resync)]
    assert len(resyncs) == connection.connects
    assert all(r.symbols == {"BTC", "ETH"} for r in resyncs)


async def test_reconnects_back_off_exponentially_with_jitter(binance):
    binance.refuse_connections = True
    async with streaming(binance) as (_, queue):
        await asyncio.sleep(1.6)
        gaps = [b - a for a, b in zip(binance.refused, binance.refused[1:], strict=False)]
        binance.refuse_connections = False
        events = await drain(queue, 1.5)

    # Attempt n waits between half and all of 0.05 s x 2^n.
    assert len(gaps) >= 3
    for attempt, gap in enumerate(gaps[:4], start=1):
        assert 0.05 * 2**attempt / 2 - 0.02 <= gap <= 0.05 * 2**attempt + 0.1, gaps
    assert isinstance(events[0], Resync)  # and it recovers once the exchange accepts again


async def test_a_silent_connection_is_treated_as_dead_and_replaced(binance, caplog):
    options = StreamOptions(silence=0.4, backoff_base=0.05, open_timeout=2.0)
    async with streaming(binance, options) as (connection, queue):
        await drain(queue, 0.3)
        binance.stall_connections()
        with caplog.at_level(logging.WARNING, logger="markets.sources.binance.streams"):
            events = await drain(queue, 1.2)

    assert connection.connects == 2
    assert any("no data for 0 s; treating the stream as dead" in r.getMessage() for r in caplog.records)
    assert isinstance(next(e for e in events if isinstance(e, Resync)), Resync)
    assert binance.connections[0].closed is not None


async def test_connections_are_renewed_before_the_24_hour_cut_off(binance):
    options = StreamOptions(max_age=0.5, backoff_base=5.0, open_timeout=2.0)  # a renewal does not back off
    async with streaming(binance, options) as (connection, queue):
        events = await drain(queue, 1.3)

    assert connection.connects >= 3
    assert sum(isinstance(e, Resync) for e in events) == connection.connects
    assert all(c.closed is not None for c in binance.connections[:-1])


async def test_a_server_shutdown_event_renews_the_connection(binance):
    async with streaming(binance) as (connection, queue):
        await drain(queue, 0.3)
        binance.inject(combined("!serverShutdown", {"e": "serverShutdown", "E": 1}).decode())
        await drain(queue, 0.5)

    assert connection.connects == 2


async def test_a_bad_message_is_logged_and_skipped(binance, caplog):
    async with streaming(binance) as (connection, queue):
        await drain(queue, 0.3)
        with caplog.at_level(logging.WARNING, logger="markets.sources.binance.streams"):
            binance.inject("{not json")
            binance.inject(combined("btcusdt@kline_1m", {"k": None}).decode())
            events = await drain(queue, 0.5)

    assert connection.connects == 1  # not a reason to reconnect
    assert connection.bad_messages == 2
    assert "skipped a bad message" in caplog.text
    assert any(isinstance(e, BarUpdate) for e in events)  # the stream goes on
