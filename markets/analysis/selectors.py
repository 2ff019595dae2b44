"""Reads of technical analysis for the API, the pages and (later) the assistant's screener.

The closed-bar part of an analysis is computed once per (coin, timeframe, closed bar, parameters)
and cached: its key holds the forming bar's open time, which moves only after the feed has stored
the bar that closed (see ``markets.selectors.candles_for``). Each request then applies the forming
bar from the snapshot with one indicator step. Coins are loaded in bulk, so a screen of the whole
market takes a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from django.core.cache import cache
from django.db.models import FloatField, Func, OuterRef, Q, Subquery

from markets import snapshot
from markets.analysis.engine import (
    ChartSeries,
    ClosedAnalysis,
    analysis_live,
    closed_analysis_build,
    forming_array,
    latest_values,
    series_payload,
)
from markets.analysis.levels import pivot_period
from markets.analysis.params import DEFAULT_BARS, DEFAULT_PARAMS, AnalysisParams
from markets.analysis.patterns import CONFIDENCE_THRESHOLD
from markets.candles import TIME
from markets.models import Candle, Coin
from markets.selectors import coin_queryset
from markets.timeframes import TIMEFRAME_SECONDS

CACHE_SCHEMA = 1  # in every key: bump it when what is cached changes shape, so old entries are not read
UNPUBLISHED_TIMEOUT = 60  # seconds an analysis is kept while the feed has published no forming bar
BAR_COLUMNS = ("open_time", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class AnalysisQuery:
    """What an analysis is asked for: a timeframe, how many closed bars, which parameters."""

    timeframe: str
    bars: int = DEFAULT_BARS
    params: AnalysisParams = DEFAULT_PARAMS


def analysis_for(
    *,
    coin: Coin,
    timeframe: str,
    bars: int = DEFAULT_BARS,
    params: AnalysisParams = DEFAULT_PARAMS,
    series: bool = False,
) -> dict:
    """The coin's analysis at its latest bar; with ``series``, also every series for charting."""
    query = AnalysisQuery(timeframe, bars, params)
    forming = _forming_bars([coin], timeframe)
    closed, chart = _closed_analyses([coin], query, forming, with_series=series)[coin.pk]
    return _payload(coin, query, closed, forming[coin.pk], chart)


def analyses_for(
    *,
    coin: Coin,
    timeframes: Iterable[str],
    bars: int = DEFAULT_BARS,
    params: AnalysisParams = DEFAULT_PARAMS,
    series: bool = False,
) -> dict[str, dict]:
    """The coin's analysis on each of ``timeframes``, by timeframe."""
    return {tf: analysis_for(coin=coin, timeframe=tf, bars=bars, params=params, series=series) for tf in timeframes}


def patterns_for(
    *, coin: Coin, timeframe: str, min_confidence: float = CONFIDENCE_THRESHOLD, bars: int = DEFAULT_BARS
) -> list[dict]:
    """Chart patterns in the coin's closed bars with at least ``min_confidence``, as the detector orders them."""
    query = AnalysisQuery(timeframe, bars)
    closed, _ = _closed_analyses([coin], query, _forming_bars([coin], timeframe), with_series=False)[coin.pk]
    return [p for p in closed.patterns if p["confidence"] >= min_confidence]


def coins_screen(
    *,
    timeframe: str,
    rsi_below: float | None = None,
    rsi_above: float | None = None,
    pattern: str | None = None,
    min_confidence: float = CONFIDENCE_THRESHOLD,
    min_volume: float | None = None,
    params: AnalysisParams = DEFAULT_PARAMS,
) -> list[dict]:
    """Active coins whose latest RSI and patterns on ``timeframe`` match, by rank.

    ``min_volume`` is the 24h quote volume; ``pattern`` one of the detector's kinds. Rows list the
    patterns with at least ``min_confidence``. Every coin's analysis comes from the cache when it can.
    """
    coins = coin_queryset().only("symbol", "name", "rank", "price", "change_24h", "volume_24h")
    if min_volume is not None:
        coins = coins.filter(volume_24h__gte=min_volume)
    coins = list(coins)
    query = AnalysisQuery(timeframe, params=params)
    forming = _forming_bars(coins, timeframe)
    closed = _closed_analyses(coins, query, forming, with_series=False)
    rows = [_screen_row(coin, closed[coin.pk][0], forming[coin.pk], params, min_confidence) for coin in coins]
    return [
        row for row in rows if _matches(row["rsi"], rsi_below, rsi_above) and _has_pattern(row["patterns"], pattern)
    ]


def _screen_row(
    coin: Coin, closed: ClosedAnalysis, forming: dict | None, params: AnalysisParams, min_confidence: float
) -> dict:
    bar = forming_array(closed=closed, forming=forming)
    values = latest_values(closed=closed, bar=bar, params=params)
    live = analysis_live(closed=closed, bar=bar, values=values, params=params)
    return {
        "symbol": coin.symbol,
        "name": coin.name,
        "rank": coin.rank,
        "price": live["price"],
        "change24h": coin.change_24h,
        "volume24h": coin.volume_24h,
        "rsi": live["indicators"]["rsi"]["value"],
        "verdict": live["summary"]["verdict"],
        "patterns": [p for p in closed.patterns if p["confidence"] >= min_confidence],
    }


def _matches(rsi: float | None, below: float | None, above: float | None) -> bool:
    if below is None and above is None:
        return True
    return rsi is not None and (below is None or rsi < below) and (above is None or rsi > above)


def _has_pattern(patterns: list[dict], kind: str | None) -> bool:
    return kind is None or any(p["kind"] == kind for p in patterns)


def _payload(
    coin: Coin, query: AnalysisQuery, closed: ClosedAnalysis, forming: dict | None, chart: ChartSeries | None
) -> dict:
    bar = forming_array(closed=closed, forming=forming)
    values = latest_values(closed=closed, bar=bar, params=query.params)
    body = {"symbol": coin.symbol, **analysis_live(closed=closed, bar=bar, values=values, params=query.params)}
    body["params"] = query.params.as_dict()
    if chart is not None:
        body["series"] = series_payload(chart=chart, bar=bar, values=values)
    return body


# --- the cache ----------------------------------------------------------------------------------


def _forming_bars(coins: list[Coin], timeframe: str) -> dict[int, dict | None]:
    """Each coin's forming bar of ``timeframe`` from the feed's snapshot (None before it publishes)."""
    return {c.pk: ((snapshot.ticker_get(c.symbol) or {}).get("bars") or {}).get(timeframe) for c in coins}


def _keys(coin: Coin, query: AnalysisQuery, forming: dict | None) -> tuple[str, str]:
    opened = forming["time"] if forming else "none"
    key = f"{coin.pk}:{query.timeframe}:{opened}:{query.bars}:{query.params.key}"
    return f"analysis:{CACHE_SCHEMA}:{key}", f"analysis-series:{CACHE_SCHEMA}:{key}"


def _closed_analyses(
    coins: list[Coin], query: AnalysisQuery, forming: dict[int, dict | None], *, with_series: bool
) -> dict[int, tuple[ClosedAnalysis, ChartSeries | None]]:
    """Each coin's closed analysis from the cache, building (in bulk) and caching those it lacks."""
    keys = {c.pk: _keys(c, query, forming[c.pk]) for c in coins}
    wanted = [k for pair in keys.values() for k in (pair if with_series else pair[:1])]
    found = cache.get_many(wanted)
    out, missing = {}, []
    for coin in coins:
        core, chart = (found.get(k) for k in keys[coin.pk])
        if core is None or (with_series and chart is None):
            missing.append(coin)
        else:
            out[coin.pk] = (core, chart)
    if missing:
        built = _build(missing, query, forming)
        cache.set_many(
            {k: v for c in missing for k, v in zip(keys[c.pk], built[c.pk], strict=True)},
            timeout=_timeout(query.timeframe, forming),
        )
        out.update({pk: (core, chart if with_series else None) for pk, (core, chart) in built.items()})
    return out


def _timeout(timeframe: str, forming: dict[int, dict | None]) -> int:
    if not any(forming.values()):
        return UNPUBLISHED_TIMEOUT
    return min(TIMEFRAME_SECONDS[timeframe], 3600)


def _build(coins: list[Coin], query: AnalysisQuery, forming: dict[int, dict | None]) -> dict[int, tuple]:
    ids = [c.pk for c in coins]
    bars = closed_bars_load(coin_ids=ids, timeframe=query.timeframe, count=query.bars)
    references = {pk: _reference(forming[pk], bars.get(pk), query.timeframe) for pk in ids}
    daily = _daily_load(ids, query.timeframe, list(references.values()))
    return {
        pk: closed_analysis_build(
            bars=bars.get(pk, np.empty((0, 6))),
            daily=daily.get(pk, np.empty((0, 6))),
            timeframe=query.timeframe,
            reference=references[pk],
            params=query.params,
        )
        for pk in ids
    }


def _reference(forming: dict | None, bars: np.ndarray | None, timeframe: str) -> int | None:
    """The open time of the coin's latest bar, the one whose previous period gives the pivots."""
    if forming:
        return forming["time"]
    if bars is not None and len(bars):
        return int(bars[-1, TIME]) + TIMEFRAME_SECONDS[timeframe]
    return None


# --- loading bars -------------------------------------------------------------------------------


def closed_bars_load(*, coin_ids: list[int], timeframe: str, count: int) -> dict[int, np.ndarray]:
    """The last ``count`` stored bars of each coin, oldest first, as bar arrays: two queries for any number."""
    if not coin_ids:
        return {}
    candles = Candle.objects.filter(timeframe=timeframe)
    nth = candles.filter(coin=OuterRef("pk")).order_by("-open_time").values("open_time")[count - 1 : count]
    cutoffs = Coin.objects.filter(pk__in=coin_ids).annotate(cutoff=Subquery(nth)).values_list("pk", "cutoff")
    condition = Q()
    for pk, cutoff in cutoffs:
        condition |= Q(coin_id=pk, open_time__gte=cutoff) if cutoff else Q(coin_id=pk)
    return _arrays(candles.filter(condition))


def _daily_load(coin_ids: list[int], timeframe: str, references: list[int | None]) -> dict[int, np.ndarray]:
    """Daily bars covering the previous pivot period of every reference time."""
    periods = [pivot_period(timeframe=timeframe, reference=r) for r in references if r is not None]
    if not periods:
        return {}
    start, end = min(p[0] for p in periods), max(p[1] for p in periods)
    rows = Candle.objects.filter(
        coin_id__in=coin_ids, timeframe="1d", open_time__gte=_moment(start), open_time__lt=_moment(end)
    )
    return _arrays(rows)


def _arrays(candles) -> dict[int, np.ndarray]:
    """Bars grouped by coin. Open times come from the database as epoch seconds: converting
    tens of thousands of datetimes in Python would cost more than the screen's indicators."""
    rows = candles.order_by("coin_id", "open_time").values_list("coin_id", Epoch("open_time"), *BAR_COLUMNS[1:])
    table = np.array(list(rows), dtype=float).reshape(-1, 7)
    starts = np.flatnonzero(np.r_[True, table[1:, 0] != table[:-1, 0]]) if len(table) else []
    return {int(part[0, 0]): part[:, 1:] for part in np.split(table, starts[1:])} if len(table) else {}


class Epoch(Func):
    """Seconds since the Unix epoch of a datetime column (UTC), computed by the database."""

    output_field = FloatField()
    template = "CAST(EXTRACT(EPOCH FROM %(expressions)s) AS DOUBLE PRECISION)"  # not numeric: no Decimals

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS REAL)", **extra)


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
