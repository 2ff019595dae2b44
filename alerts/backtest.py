"""When an alert would have fired over the last days of stored candles, through the engine's own code:
price conditions replayed on the stored 1m closes as price updates, bar conditions (and
``once_per_bar_close``) at each stored bar of the timeframe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from django.utils import timezone

from alerts.conditions import is_bar_condition
from alerts.engine import AlertEngine
from alerts.engine_table import CloseAlert, table_build
from alerts.firing import Firing, Stored
from alerts.readings import TIMEFRAME_NAMES, BarReadings, bars_needed, leaves
from markets.analysis.selectors import Epoch
from markets.candles import CLOSE, TIME
from markets.events import PriceBatch
from markets.models import Candle, Coin
from markets.timeframes import TIMEFRAME_SECONDS

BATCH = 1440  # updates per replayed batch (a day of 1m closes)
PATTERN_BARS_REPLAYED = 1000  # the detector is slow: pattern backtests look at the last bars only
LAST_MS_OF_MINUTE = 59_999


def alert_backtest(
    *, symbol: str, condition: dict, frequency: str, timeframe: str, cooldown: int, days: int = 30
) -> dict:
    """``{"count", "firings": [{"time", "price"}], "days", "replayed_on"}`` for a cleaned condition."""
    coin = Coin.objects.get(symbol__iexact=symbol)
    start = int((timezone.now() - timedelta(days=days)).timestamp())
    found: list[Firing] = []
    engine = _engine(coin, condition, frequency, timeframe, cooldown, found)
    if is_bar_condition(condition) or frequency == "once_per_bar_close":
        found += _replay_bars(engine, coin, condition, timeframe, start)
        replayed = f"{timeframe} bars"
    else:
        _replay_closes(engine, coin, start)
        replayed = "1m closes"
    firings = [{"time": _iso(f.fired_ms), "price": f.price} for f in found]
    return {"count": len(firings), "firings": firings, "days": days, "replayed_on": replayed}


def _engine(coin: Coin, condition: dict, frequency: str, timeframe: str, cooldown: int, found: list) -> AlertEngine:
    """An engine holding just this alert (row 0), whose firings are collected instead of stored."""
    row = (0, coin.pk, condition, frequency, timeframe, cooldown, None, None, None)

    def collect(firings: list[Firing]) -> Stored:
        found.extend(firings)
        return Stored(claimed={f.alert_id for f in firings})

    def table():
        return table_build(np.array([coin.pk]), {coin.symbol: 0}, [row])

    return AlertEngine(store=collect, table_load=table, closes_source=_closes_source(coin), watch=False)


def _closes_source(coin: Coin):
    def closes(tf: int, open_time: int) -> dict[int, float]:
        opened = datetime.fromtimestamp(open_time, UTC)
        rows = Candle.objects.filter(coin=coin, timeframe=TIMEFRAME_NAMES[tf], open_time=opened)
        return dict(rows.values_list("coin_id", "close"))

    return closes


def _replay_closes(engine: AlertEngine, coin: Coin, start: int) -> None:
    """Each stored 1m close as a price update at the last millisecond of its minute."""
    bars = _bars(coin, "1m", start)
    if not len(bars):
        return
    closes = bars[:, CLOSE]
    previous = np.r_[closes[0], closes[:-1]]
    ts = bars[:, TIME].astype(np.int64) * 1000 + LAST_MS_OF_MINUTE
    for i in range(0, len(bars), BATCH):
        part = slice(i, i + BATCH)
        size = len(closes[part])
        engine.evaluate_prices(PriceBatch([coin.symbol] * size, previous[part], closes[part], ts[part]))


def _replay_bars(engine: AlertEngine, coin: Coin, condition: dict, timeframe: str, start: int) -> list[Firing]:
    """The alert evaluated at the close of each stored bar since ``start``, on the bars up to it."""
    seconds = TIMEFRAME_SECONDS[timeframe]
    warm = bars_needed([condition])
    bars = _bars(coin, timeframe, start - warm * seconds)
    engine.refresh()
    readings = BarReadings(bars, [condition])
    first = int(np.searchsorted(bars[:, TIME], start)) if len(bars) else 0
    if any(t["kind"] == "pattern_detected" for t in leaves(condition)):
        first = max(first, len(bars) - PATTERN_BARS_REPLAYED)
    alert, found = [CloseAlert(0, condition)], []
    for end in range(max(first, 1), len(bars) + 1):
        readings.end = end
        found += engine.at_close(alert, readings, seconds)
    return found


def _bars(coin: Coin, timeframe: str, since: int) -> np.ndarray:
    rows = Candle.objects.filter(coin=coin, timeframe=timeframe, open_time__gte=datetime.fromtimestamp(since, UTC))
    columns = rows.order_by("open_time").values_list(Epoch("open_time"), "open", "high", "low", "close", "volume")
    return np.array(list(columns), dtype=float).reshape(-1, 6)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
