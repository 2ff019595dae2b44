"""The simulated market: a stochastic model of prices, volumes and trades.

Each coin's log-price follows its BTC beta times BTC's move plus its own noise, scaled by its
daily volatility and by a volatility multiplier that mean-reverts and jumps in bursts. Volume
follows a daily rhythm (busiest when the US session opens) and rises with volatility. The same
model produces live one-second ticks and past bars, and a given seed gives the same sequence.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from markets.candles import CLOSE, HIGH, LOW, OPEN, TIME, VOLUME
from markets.sources.base import CoinProfile, OrderBook, Tick, Trade

DAY = 86400
VOL_MEMORY_SECONDS = 1800.0  # how long a volatility burst takes to fade (e-folding time)
VOL_NOISE = 0.35  # stationary std of the log volatility multiplier
BURST_RATE = 1 / 7200  # bursts per coin per second: about one every two hours
VOLUME_NOISE = 0.4  # lognormal noise on volume
# How far bursts (jumps of 0.7-1.4 in log-volatility) raise its mean and its variance.
BURST_LIFT = BURST_RATE * VOL_MEMORY_SECONDS * 1.05
BURST_VARIANCE = BURST_RATE * VOL_MEMORY_SECONDS / 2 * (1.4**3 - 0.7**3) / (3 * 0.7)


def rhythm(ts: np.ndarray | float) -> np.ndarray | float:
    """Relative trading intensity by UTC time of day: mean 1, peak at 15:00, trough at 03:00."""
    hours = (np.asarray(ts) % DAY) / 3600.0
    return 1.0 + 0.4 * np.cos(2 * np.pi * (hours - 15.0) / 24.0)


def tick_size(price: float) -> float:
    """Price increment that keeps six significant digits."""
    return 10.0 ** (math.floor(math.log10(price)) - 5)


def round_price(price: float) -> float:
    return float(round(price, 5 - math.floor(math.log10(price))))


@dataclass(frozen=True)
class Universe:
    """Per-coin model parameters as arrays, BTC's index first among equals."""

    symbols: list[str]
    volatility: np.ndarray  # daily standard deviation of log returns
    beta: np.ndarray
    quote_rate: np.ndarray  # average USDT volume per second
    btc: int  # index of BTC (or of the first coin when BTC is absent)

    @classmethod
    def of(cls, profiles: list[CoinProfile]) -> Universe:
        symbols = [p.symbol for p in profiles]
        return cls(
            symbols=symbols,
            volatility=np.array([p.daily_volatility for p in profiles]),
            beta=np.array([p.beta for p in profiles]),
            quote_rate=np.array([p.volume_24h / DAY for p in profiles]),
            btc=symbols.index("BTC") if "BTC" in symbols else 0,
        )

    def __len__(self) -> int:
        return len(self.symbols)

    def idiosyncratic(self) -> np.ndarray:
        """Daily std of each coin's own noise, so that its total volatility is as profiled."""
        market = self.beta * self.volatility[self.btc]
        own = np.sqrt(np.maximum(self.volatility**2 - market**2, (0.3 * self.volatility) ** 2))
        own[self.btc] = 0.0
        return own

    def returns(
        self, rng: np.random.Generator, dt: float, multiplier: np.ndarray, shape: tuple[int, ...]
    ) -> np.ndarray:
        """Log returns over steps of ``dt`` seconds: (coins, *shape), volatility scaled by ``multiplier``.

        ``multiplier`` broadcasts against (coins, *shape); BTC's multiplier drives the market factor.
        """
        scale = math.sqrt(dt / DAY)
        market = rng.standard_normal(shape) * self.volatility[self.btc] * scale
        own = rng.standard_normal((len(self), *shape)) * (self.idiosyncratic() * scale).reshape(-1, *[1] * len(shape))
        multiplier = np.broadcast_to(multiplier, (len(self), *shape))
        beta = self.beta.reshape(-1, *[1] * len(shape))
        return beta * market * multiplier[self.btc] + own * multiplier


def volatility_multipliers(rng: np.random.Generator, h: np.ndarray, dt: float, steps: int) -> np.ndarray:
    """Evolve log-volatility ``h`` (coins,) over ``steps`` of ``dt`` seconds; return multipliers.

    Bursts make some stretches wild and others calm without changing a coin's overall volatility.
    """
    if dt >= VOL_MEMORY_SECONDS:
        # A bar longer than a burst averages bursts out: an independent, milder multiplier each.
        spread = VOL_NOISE * math.sqrt(VOL_MEMORY_SECONDS / dt)
        return np.exp(rng.normal(-(spread**2), spread, (len(h), steps)))
    phi = math.exp(-dt / VOL_MEMORY_SECONDS)
    noise = rng.standard_normal((steps, len(h))) * VOL_NOISE * math.sqrt(1 - phi * phi)
    bursts = (rng.random((steps, len(h))) < BURST_RATE * dt) * rng.uniform(0.7, 1.4, (steps, len(h)))
    out = np.empty((len(h), steps))
    for step in range(steps):
        h[:] = phi * h + noise[step] + bursts[step]
        out[:, step] = h
    # Centred so that the mean squared multiplier is about 1: volatility stays as profiled.
    return np.exp(out - BURST_LIFT - VOL_NOISE**2 - BURST_VARIANCE)


class RollingWindow:
    """24-hour statistics per coin from 1,440 one-minute slots, as an exchange's ticker reports them."""

    SLOTS = 1440

    def __init__(self, prices: np.ndarray, quote_rate: np.ndarray, minute: int):
        n = len(prices)
        self.open = np.repeat(prices[:, None], self.SLOTS, axis=1)
        self.high = self.open.copy()
        self.low = self.open.copy()
        self.quote = np.repeat((quote_rate * 60)[:, None], self.SLOTS, axis=1)
        self.minute = minute
        self._rows = np.arange(n)

    def seed(self, index: int, bars: np.ndarray) -> None:
        """Fill slots from stored 1m bars (last day only) of the coin at ``index``."""
        minutes = bars[:, TIME].astype(np.int64) // 60
        keep = (minutes > self.minute - self.SLOTS) & (minutes <= self.minute)
        slots = minutes[keep] % self.SLOTS
        self.open[index, slots] = bars[keep, OPEN]
        self.high[index, slots] = bars[keep, HIGH]
        self.low[index, slots] = bars[keep, LOW]
        self.quote[index, slots] = bars[keep, VOLUME] * bars[keep, CLOSE]

    def update(self, minute: int, prices: np.ndarray, quote: np.ndarray) -> None:
        for m in range(max(self.minute + 1, minute - self.SLOTS + 1), minute + 1):
            slot = m % self.SLOTS
            self.open[:, slot] = self.high[:, slot] = self.low[:, slot] = prices
            self.quote[:, slot] = 0.0
        self.minute = max(self.minute, minute)
        slot = minute % self.SLOTS
        np.maximum(self.high[:, slot], prices, out=self.high[:, slot])
        np.minimum(self.low[:, slot], prices, out=self.low[:, slot])
        self.quote[:, slot] += quote

    def stats(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Change % from the price 24h ago, quote volume, high and low over the window."""
        oldest = (self.minute + 1) % self.SLOTS
        change = (prices / self.open[:, oldest] - 1.0) * 100.0
        return change, self.quote.sum(axis=1), self.high.max(axis=1), self.low.min(axis=1)


class SimulatedExchange:
    """The live simulation: one ``step`` per tick moves every coin and records its trades."""

    def __init__(
        self, profiles: list[CoinProfile], *, seed: int | list[int], start_ts: float, prices: np.ndarray | None = None
    ):
        self.universe = Universe.of(profiles)
        self.rng = np.random.default_rng(seed)
        start = np.array([p.price for p in profiles]) if prices is None else np.asarray(prices, dtype=float)
        self.log_price = np.log(start)
        # Volatility starts at its long-run level, not calm: a restart looks like any other moment.
        self.h = self.rng.normal(BURST_LIFT, math.sqrt(VOL_NOISE**2 + BURST_VARIANCE), len(profiles))
        self.window = RollingWindow(start, self.universe.quote_rate, int(start_ts) // 60)
        self.last_ts = start_ts
        self.trade_ids = np.zeros(len(profiles), dtype=np.int64)
        self.trades: dict[str, list[Trade]] = {s: [] for s in self.universe.symbols}

    def seed_window(self, recent_1m: dict[str, np.ndarray]) -> None:
        for index, symbol in enumerate(self.universe.symbols):
            if symbol in recent_1m and len(recent_1m[symbol]):
                self.window.seed(index, recent_1m[symbol])

    def step(self, ts: float) -> list[Tick]:
        """Advance to ``ts`` (epoch seconds) and return one tick per coin."""
        dt = min(max(ts - self.last_ts, 0.05), 60.0)
        self.last_ts = ts
        u = self.universe
        multiplier = volatility_multipliers(self.rng, self.h, dt, 1)[:, 0]
        returns = u.returns(self.rng, dt, multiplier, ())
        self.log_price += returns
        prices = np.array([round_price(p) for p in np.exp(self.log_price)])
        intensity = rhythm(ts) * multiplier**1.5 * np.exp(self.rng.normal(-(VOLUME_NOISE**2) / 2, VOLUME_NOISE, len(u)))
        quote = u.quote_rate * dt * intensity
        qty = quote / prices
        self.window.update(int(ts) // 60, prices, quote)
        self._record_trades(ts, prices, qty, returns / (u.volatility * math.sqrt(dt / DAY)))
        change, volume, high, low = self.window.stats(prices)
        ms = int(ts * 1000)
        return [
            Tick(
                s,
                float(prices[i]),
                float(qty[i]),
                ms,
                float(change[i]),
                float(volume[i]),
                float(high[i]),
                float(low[i]),
            )
            for i, s in enumerate(u.symbols)
        ]

    def _record_trades(self, ts: float, prices: np.ndarray, qty: np.ndarray, z: np.ndarray) -> None:
        """Split each coin's volume into a few taker trades, buyers dominating when the price rose."""
        counts = 1 + np.minimum(self.rng.poisson(2.0, len(prices)), 6)
        buy_probability = 0.5 + 0.4 * np.tanh(z)
        for i, symbol in enumerate(self.universe.symbols):
            n = int(counts[i])
            weights = self.rng.dirichlet(np.ones(n))
            sides = self.rng.random(n) < buy_probability[i]
            step = tick_size(prices[i])
            new = [
                Trade(
                    int(self.trade_ids[i] + k + 1),
                    round_price(prices[i] + (step if sides[k] else 0.0)),
                    float(qty[i] * weights[k]),
                    "buy" if sides[k] else "sell",
                    int(ts * 1000) - (n - 1 - k) * 10,
                )
                for k in range(n)
            ]
            self.trade_ids[i] += n
            self.trades[symbol] = (new[::-1] + self.trades[symbol])[:100]


def order_book(*, symbol: str, price: float, quote_rate: float, ts: int, depth: int, seed: int) -> OrderBook:
    """The simulated book around ``price``: deterministic for (seed, symbol, second)."""
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), ts // 1000])
    step = tick_size(price)
    best_bid = round_price(price - step * rng.integers(0, 2))
    best_ask = round_price(best_bid + step * rng.integers(1, 3))
    gaps = rng.integers(1, 4, (2, depth)).cumsum(axis=1) - 1
    # About two seconds of traded value rests at each level, deeper levels a little larger.
    sizes = quote_rate * 2.0 / price * np.exp(rng.normal(0, 0.6, (2, depth))) * (1 + 0.05 * np.arange(depth))
    bids = [(round_price(best_bid - g * step), float(q)) for g, q in zip(gaps[0], sizes[0], strict=True)]
    asks = list(zip(_ask_prices(best_ask, gaps[1]), map(float, sizes[1]), strict=True))
    return OrderBook(symbol=symbol, ts=ts, bids=bids, asks=asks)


def _ask_prices(best_ask: float, gaps: np.ndarray) -> list[float]:
    """Ask levels ``gaps`` ticks above the best, each step in the tick of the level below it.

    The tick grows tenfold past a power of ten (99.9999 -> 100.000), so one fixed step would
    round several levels above it to the same price.
    """
    prices, price = [], best_ask
    for previous, gap in zip([0, *gaps[:-1]], gaps, strict=True):
        price = round_price(price + (gap - previous) * tick_size(price))
        prices.append(price)
    return prices


@dataclass(frozen=True)
class Segment:
    """A stretch of history generated at one bar size: [start, end) epoch seconds."""

    start: int
    end: int
    seconds: int

    @property
    def bars(self) -> int:
        return max(0, (self.end - self.start) // self.seconds)


SUBSTEPS = {60: 6, 3600: 12, DAY: 24}  # intrabar points per bar, for highs and lows


def history_segments(start: int, end: int) -> list[Segment]:
    """Split [start, end) into 1d, 1h and 1m stretches: 1m for the last 3 days, 1h for 60 days.

    Boundaries fall on whole hours and days, so every higher bar is either generated whole or
    rolled up whole from lower ones. A partial first hour or day is filled at the finer size.
    """
    start -= start % 60
    end -= end % 60
    m1_from = max(start, end - 3 * DAY)
    m1_from = max(start, m1_from - m1_from % 3600)
    first_hour = min(m1_from, -(-start // 3600) * 3600)
    # Hourly bars start no earlier than the first whole hour: a partial first hour is all 1m.
    h1_from = max(first_hour, end - 60 * DAY)
    h1_from = max(first_hour, h1_from - h1_from % DAY)
    first_day = min(h1_from, max(first_hour, -(-first_hour // DAY) * DAY))
    segments = [
        Segment(start, first_hour, 60),
        Segment(first_hour, first_day, 3600),
        Segment(first_day, h1_from, DAY),
        Segment(h1_from, m1_from, 3600),
        Segment(m1_from, end, 60),
    ]
    return [s for s in segments if s.bars > 0]


def history_generate(
    profiles: list[CoinProfile],
    segments: list[Segment],
    *,
    anchor_prices: np.ndarray,
    anchor_at_end: bool,
    rng: np.random.Generator,
) -> list[tuple[Segment, np.ndarray]]:
    """Bars for every segment: (segment, array of shape (coins, bars, 6)), prices continuous.

    The path is pinned to ``anchor_prices`` at its end (seeding up to today's prices) or at its
    start (continuing from the last stored close after a gap).
    """
    universe = Universe.of(profiles)
    h = np.zeros(len(profiles))
    parts = []
    for segment in segments:
        k = SUBSTEPS[segment.seconds]
        multiplier = volatility_multipliers(rng, h, segment.seconds, segment.bars)
        returns = universe.returns(rng, segment.seconds / k, multiplier[:, :, None], (segment.bars, k))
        parts.append((segment, multiplier, returns.reshape(len(profiles), -1)))
    returns = np.concatenate([p[2] for p in parts], axis=1)
    path = np.concatenate([np.zeros((len(profiles), 1)), returns.cumsum(axis=1)], axis=1)
    path += (np.log(anchor_prices) - (path[:, -1] if anchor_at_end else 0.0))[:, None]
    out, offset = [], 0
    for segment, multiplier, seg_returns in parts:
        k = SUBSTEPS[segment.seconds]
        points = path[:, offset : offset + seg_returns.shape[1] + 1]
        offset += seg_returns.shape[1]
        out.append((segment, _bars_from_path(universe, segment, points, multiplier, rng)))
    return out


def _bars_from_path(
    universe: Universe, segment: Segment, points: np.ndarray, multiplier: np.ndarray, rng
) -> np.ndarray:
    k = SUBSTEPS[segment.seconds]
    n_coins, n_bars = points.shape[0], segment.bars
    windows = np.lib.stride_tricks.sliding_window_view(points, k + 1, axis=1)[:, ::k]
    bars = np.empty((n_coins, n_bars, 6))
    times = segment.start + segment.seconds * np.arange(n_bars)
    bars[:, :, TIME] = times
    prices = np.exp(windows)
    bars[:, :, OPEN] = prices[:, :, 0]
    bars[:, :, CLOSE] = prices[:, :, -1]
    bars[:, :, HIGH] = prices.max(axis=2)
    bars[:, :, LOW] = prices.min(axis=2)
    noise = np.exp(rng.normal(-(VOLUME_NOISE**2) / 2, VOLUME_NOISE, (n_coins, n_bars)))
    quote = (
        universe.quote_rate[:, None] * segment.seconds * rhythm(times + segment.seconds / 2) * multiplier**1.5 * noise
    )
    bars[:, :, VOLUME] = quote / bars[:, :, CLOSE]
    for column in (OPEN, HIGH, LOW, CLOSE):
        bars[:, :, column] = _round_prices(bars[:, :, column])
    return bars


def _round_prices(values: np.ndarray) -> np.ndarray:
    """Round to six significant digits, as ``round_price`` does one price at a time."""
    scale = 10.0 ** (5 - np.floor(np.log10(values)))
    return np.round(values * scale) / scale
