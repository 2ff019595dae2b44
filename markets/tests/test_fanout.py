"""The per-process fan-out of live data: one membership of each group, every socket served."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.layers import get_channel_layer

from markets.fanout import LiveFanout, batch_text
from markets.live import CANDLES_GROUP, PAGES_GROUP, PRICES_GROUP


class Follower:
    """A socket as the fan-out sees it: a format, a choice of coins, a send."""

    def __init__(self, *, symbols=None, html=False, broken=False, candles=None):
        self.html, self.symbols, self.broken = html, symbols, broken
        self.candle_streams = candles or {}
        self.received: list[str] = []

    def prices_text(self, symbols, parts, everything):
        if self.symbols is None:
            return everything
        mine = [p for s, p in zip(symbols, parts, strict=True) if s in self.symbols]
        return batch_text(mine, html=self.html) if mine else None

    async def send(self, text_data: str) -> None:
        if self.broken:
            raise ConnectionResetError("peer went away")
        self.received.append(text_data)


def batch(*symbols: str) -> dict:
    parts = [json.dumps({"type": "ticker", "symbol": s, "price": 1.0}) for s in symbols]
    return {"type": "prices.batch", "symbols": list(symbols), "json": parts}


async def published(fanout: LiveFanout, message: dict, group: str = PRICES_GROUP) -> None:
    """Publish like the feed, and give the fan-out time to serve it (Redis takes a round trip)."""
    await get_channel_layer().group_send(group, message)
    await asyncio.sleep(0.3)


@pytest.fixture(autouse=True)
async def _close_layer():
    yield
    await get_channel_layer().flush()  # the Redis layer closes its connections while this loop runs


@pytest.fixture
def counted_joins(monkeypatch):
    layer = get_channel_layer()
    joins = []
    original = layer.group_add

    async def group_add(group, channel):
        joins.append(group)
        await original(group, channel)

    monkeypatch.setattr(layer, "group_add", group_add)
    return joins


async def test_one_membership_serves_every_follower(counted_joins):
    fanout = LiveFanout(get_channel_layer())
    followers = [Follower() for _ in range(120)]
    for follower in followers:
        await fanout.follow_prices(follower)

    await published(fanout, batch("BTC", "ETH"))

    assert sorted(counted_joins) == sorted([PRICES_GROUP, PAGES_GROUP, CANDLES_GROUP])
    assert all(len(f.received) == 1 for f in followers)
    assert json.loads(followers[0].received[0])["type"] == "tickers"


async def test_followers_get_their_coins_in_their_format():
    fanout = LiveFanout(get_channel_layer())
    btc, none, pages = Follower(symbols={"BTC"}), Follower(symbols={"SOL"}), Follower(html=True)
    for follower in (btc, none, pages):
        await fanout.follow_prices(follower)

    await published(fanout, batch("BTC", "ETH"))
    await published(
        fanout, {"type": "prices.batch", "symbols": ["BTC"], "html": ["<span id=p-BTC>1</span>"]}, PAGES_GROUP
    )

    assert [json.loads(t)["symbol"] for t in btc.received] == ["BTC"]
    assert none.received == []
    assert pages.received == ["<span id=p-BTC>1</span>"]


async def test_a_follower_that_cannot_be_sent_to_is_dropped_and_the_others_served():
    fanout = LiveFanout(get_channel_layer())
    broken, healthy = Follower(broken=True), Follower()
    await fanout.follow_prices(broken)
    await fanout.follow_prices(healthy)

    await published(fanout, batch("BTC"))
    await published(fanout, batch("ETH"))

    assert broken not in fanout.price_followers
    assert len(healthy.received) == 2


async def test_a_discarded_follower_gets_nothing_more():
    fanout = LiveFanout(get_channel_layer())
    follower = Follower()
    await fanout.follow_prices(follower)
    fanout.unfollow_prices(follower)

    await published(fanout, batch("BTC"))

    assert follower.received == []


async def test_candle_followers_get_the_bars_of_their_streams_only():
    fanout = LiveFanout(get_channel_layer())
    eth_5m = Follower(candles={"ETH": {"5m"}})
    both = Follower(candles={"ETH": {"1m", "5m"}, "BTC": {"1h"}})
    await fanout.follow_candles(eth_5m)
    await fanout.follow_candles(both)
    bar = {"time": 60, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3.0}

    await published(fanout, {"type": "candles.update", "bars": {"ETH": {"1m": bar, "5m": bar}}}, CANDLES_GROUP)

    assert [(m["symbol"], m["timeframe"]) for m in map(json.loads, eth_5m.received)] == [("ETH", "5m")]
    assert [(m["symbol"], m["timeframe"]) for m in map(json.loads, both.received)] == [("ETH", "1m"), ("ETH", "5m")]
    assert json.loads(eth_5m.received[0]) == {"type": "candle", "symbol": "ETH", "timeframe": "5m", **bar}
