"""The analysis API: values, parameters and errors, several timeframes, series, the per-bar cache
with its incremental forming bar, patterns, the screener and query counts."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import numpy as np
import pandas_ta
import pytest
from rest_framework.test import APIClient

from markets.analysis.indicators import indicator_readings, indicators_compute
from markets.analysis.params import DEFAULT_PARAMS, AnalysisParams
from markets.analysis.patterns import CONFIDENCE_THRESHOLD, Pattern
from markets.candles import CLOSE, TIME
from markets.models import Coin
from markets.tests.analysis_data import MIDNIGHT, NOW, bars_store, forming_publish, random_walk

URL = "/api/coins/BTC/analysis"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def market(coins):
    """BTC: 300 closed 1h bars up to 10:00, 40 daily bars up to today, and the forming 10:00 bar."""
    hourly = random_walk(300, seed=2)
    daily = random_walk(40, seed=3, end=MIDNIGHT, seconds=86400)
    bars_store("BTC", "1h", hourly)
    bars_store("BTC", "1d", daily)
    forming = forming_bar(hourly, close=hourly[-1, CLOSE] * 1.004)
    forming_publish("BTC", {"1h": forming})
    return SimpleNamespace(hourly=hourly, daily=daily, forming=forming)


def forming_bar(closed: np.ndarray, *, close: float, time: int = NOW) -> dict:
    last = closed[-1, CLOSE]
    return {
        "time": time,
        "open": last,
        "high": max(last, close),
        "low": min(last, close),
        "close": close,
        "volume": 40.0,
    }


def row(bar: dict) -> np.ndarray:
    return np.array([bar[k] for k in ("time", "open", "high", "low", "close", "volume")], dtype=float)


def flat(readings: dict) -> dict[str, float | None]:
    """Readings as one number per key (``macd.signal``), for approximate comparison."""
    out = {}
    for name, reading in readings.items():
        value = reading["value"]
        if isinstance(value, dict):
            out.update({f"{name}.{key}": v for key, v in value.items()})
        else:
            out[name] = value
    return out


def recomputed(bars: np.ndarray, params: AnalysisParams = DEFAULT_PARAMS) -> dict[str, float | None]:
    """What a full recompute over ``bars`` gives, as the API words it."""
    values = indicators_compute(bars=bars, params=params).last()
    return flat(indicator_readings(values=values, count=len(bars) - 1, params=params))


# --- values ---------------------------------------------------------------------------------------


def test_analysis_gives_every_indicator_at_the_forming_bar(api, market):
    response = api.get(URL, {"timeframe": "1h"})
    assert response.status_code == 200
    body = response.json()
    assert (body["symbol"], body["timeframe"], body["forming"]) == ("BTC", "1h", True)
    assert body["time"] == NOW and body["closed_time"] == NOW - 3600 and body["closed_bars"] == 300
    assert body["price"] == market.forming["close"]
    assert list(body["indicators"]) == [
        "rsi", "macd", "bbands", "sma_9", "sma_21", "sma_50", "sma_200", "ema_9", "ema_21", "ema_50", "ema_200",
        "atr", "stoch", "volume_sma",
    ]  # fmt: skip
    expected = recomputed(np.vstack([market.hourly, row(market.forming)]))
    assert flat(body["indicators"]) == pytest.approx(expected, rel=1e-9)
    assert all(isinstance(v, float) for v in flat(body["indicators"]).values())


def test_analysis_has_pivots_levels_summary_and_suggestions(api, market):
    body = api.get(URL, {"timeframe": "1h"}).json()
    pivots = body["levels"]["pivots"]
    yesterday = market.daily[-1]
    assert pivots["basis"] == "previous day" and pivots["start"] == MIDNIGHT - 86400
    assert pivots["value"]["P"] == pytest.approx((yesterday[2] + yesterday[3] + yesterday[4]) / 3)
    assert all(level["price"] < body["price"] for level in body["levels"]["support"])
    assert all(level["price"] > body["price"] for level in body["levels"]["resistance"])
    assert body["levels"]["support"] or body["levels"]["resistance"]
    summary = body["summary"]
    assert summary["verdict"] in ("strong_buy", "buy", "neutral", "sell", "strong_sell")
    assert summary["buy"] + summary["sell"] + summary["neutral"] == sum(s["votes"] for s in summary["signals"])
    assert all(s["reason"] for s in summary["signals"])
    assert body["suggestions"][0]["text"].startswith(f"RSI is {body['indicators']['rsi']['value']:.0f}: be told when")


def test_parameters_change_the_values_and_are_echoed(api, market):
    body = api.get(URL, {"rsi_length": 7, "sma": "10,30", "ema": "5", "bb_std": 2.5}).json()
    params = AnalysisParams(rsi_length=7, sma=(10, 30), ema=(5,), bb_std=2.5)
    assert body["params"] == params.as_dict()
    assert {"sma_10", "sma_30", "ema_5"} <= set(body["indicators"]) and "sma_200" not in body["indicators"]
    expected = recomputed(np.vstack([market.hourly, row(market.forming)]), params)
    assert flat(body["indicators"]) == pytest.approx(expected, rel=1e-9)


def test_too_little_history_is_null_with_the_reason_not_an_error(api, coins):
    bars_store("BTC", "1h", random_walk(30))
    body = api.get(URL, {"timeframe": "1h"}).json()
    assert body["indicators"]["sma_200"] == {"value": None, "reason": "needs 200 closed bars, have 30"}
    assert body["indicators"]["macd"] == {"value": None, "reason": "needs 34 closed bars, have 30"}
    assert isinstance(body["indicators"]["rsi"]["value"], float)


def test_a_coin_without_bars_answers_with_nulls(api, coins):
    body = api.get(URL, {"timeframe": "4h"}).json()
    assert body["price"] is None and body["time"] is None and body["closed_bars"] == 0
    assert all(r["value"] is None for r in body["indicators"].values())
    assert body["levels"]["pivots"]["value"] is None
    assert body["summary"]["verdict"] == "neutral" and body["suggestions"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"timeframe": "2m"}, "timeframe"),
        ({"rsi_length": 1}, "rsi_length"),
        ({"rsi_length": 101}, "rsi_length"),
        ({"rsi_length": "long"}, "rsi_length"),
        ({"macd_fast": 30, "macd_slow": 26}, "macd_fast"),
        ({"bb_std": 0.1}, "bb_std"),
        ({"sma": "9,abc"}, "sma"),
        ({"sma": "9,21,50,100,150,200,300"}, "sma"),
        ({"sma": "9,,21"}, "sma"),  # an empty item in the list: a typo, not a shorter list
        ({"ema": "9,"}, "ema"),
        ({"timeframes": ",1h"}, "timeframes"),
        ({"ema": "1000"}, "ema"),
        ({"stoch_k": 0}, "stoch_k"),
        ({"bars": 10}, "bars"),
        ({"series": "maybe"}, "series"),
        ({"timeframes": "1h,2m"}, "timeframes"),
        ({"timeframes": "1h,4h", "timeframe": "1d"}, "timeframes"),
    ],
)
def test_bad_parameters_are_400_naming_them(api, market, params, field):
    response = api.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert all(isinstance(m, str) and m for m in body[field])


def test_unknown_coin_is_404(api, coins):
    for suffix in ("analysis", "patterns"):
        response = api.get(f"/api/coins/NOPE/{suffix}")
        assert response.status_code == 404 and "NOPE" in response.json()["detail"]


def test_several_timeframes_at_once(api, market):
    bars_store("BTC", "4h", random_walk(120, seed=4, seconds=14400, end=MIDNIGHT + 8 * 3600))
    body = api.get(URL, {"timeframes": "1h,4h,1d"}).json()
    assert body["symbol"] == "BTC" and list(body["timeframes"]) == ["1h", "4h", "1d"]
    assert [a["timeframe"] for a in body["timeframes"].values()] == ["1h", "4h", "1d"]
    assert body["timeframes"]["1h"] == api.get(URL, {"timeframe": "1h"}).json()
    assert body["timeframes"]["4h"]["closed_bars"] == 120 and body["timeframes"]["4h"]["forming"] is False
    assert body["timeframes"]["4h"]["levels"]["pivots"]["basis"] == "previous week"
    assert body["timeframes"]["1d"]["levels"]["pivots"]["basis"] == "previous month"


def test_series_are_aligned_lists_ending_with_the_forming_bar(api, market):
    body = api.get(URL, {"timeframe": "1h", "series": "true"}).json()
    series = body["series"]
    assert {"time", "open", "high", "low", "close", "volume", "rsi", "macd", "macd_signal", "macd_hist"} <= set(series)
    assert {"bb_upper", "bb_middle", "bb_lower", "sma_200", "ema_9", "atr", "stoch_k", "stoch_d", "volume_sma"} <= set(
        series
    )
    assert {len(values) for values in series.values()} == {301}
    assert series["time"][-1] == NOW and series["close"][-1] == market.forming["close"]
    assert series["time"][:-1] == market.hourly[:, TIME].astype(int).tolist()
    assert series["sma_200"][:199] == [None] * 199 and isinstance(series["sma_200"][199], float)
    assert series["rsi"][-1] == pytest.approx(body["indicators"]["rsi"]["value"])
    assert "series" not in api.get(URL, {"timeframe": "1h"}).json()


# --- the cache and the forming bar ----------------------------------------------------------------

PANDAS_TA_CALLS = ("rsi", "rma", "macd", "ema", "sma", "bbands", "atr")


@pytest.fixture
def pandas_ta_calls(monkeypatch) -> Counter:
    """Every pandas-ta call from here on, by function."""
    calls = Counter()

    def counting(name):
        original = getattr(pandas_ta, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        return wrapper

    for name in PANDAS_TA_CALLS:
        monkeypatch.setattr(pandas_ta, name, counting(name))
    return calls


def test_indicators_are_computed_once_per_closed_bar_and_the_forming_bar_steps(api, market, pandas_ta_calls):
    api.get(URL, {"timeframe": "1h"})
    per_bar = pandas_ta_calls.total()
    assert per_bar >= len(PANDAS_TA_CALLS)
    for version, close in enumerate((1.01, 0.985, 1.02), start=2):
        forming = forming_bar(market.hourly, close=market.hourly[-1, CLOSE] * close)
        forming_publish("BTC", {"1h": forming}, version=version)
        body = api.get(URL, {"timeframe": "1h"}).json()
        assert pandas_ta_calls.total() == per_bar  # the tick moved the values, without pandas-ta
        assert body["price"] == forming["close"]
        expected = recomputed(np.vstack([market.hourly, row(forming)]))
        per_bar = pandas_ta_calls.total()  # the recompute above is the test's own
        assert flat(body["indicators"]) == pytest.approx(expected, rel=1e-9)


def test_the_next_bar_is_computed_once_for_every_request_on_it(api, market, pandas_ta_calls):
    api.get(URL, {"timeframe": "1h"})
    per_bar = pandas_ta_calls.total()
    closed = np.vstack([market.hourly, row(market.forming)])
    bars_store("BTC", "1h", closed[-1:])  # the feed stores the bar that closed, then opens the next
    forming_publish("BTC", {"1h": forming_bar(closed, close=closed[-1, CLOSE], time=NOW + 3600)}, version=2)
    for _ in range(3):
        body = api.get(URL, {"timeframe": "1h"}).json()
    assert pandas_ta_calls.total() == 2 * per_bar
    assert body["closed_time"] == NOW and body["closed_bars"] == 301


def test_other_parameters_are_cached_apart(api, market, pandas_ta_calls):
    first = api.get(URL, {"rsi_length": 14}).json()
    per_bar = pandas_ta_calls.total()
    other = api.get(URL, {"rsi_length": 21}).json()
    assert pandas_ta_calls.total() == 2 * per_bar
    assert first["indicators"]["rsi"] != other["indicators"]["rsi"]
    api.get(URL, {"rsi_length": 21})
    assert pandas_ta_calls.total() == 2 * per_bar


def test_query_counts_uncached_then_cached(api, market, django_assert_num_queries):
    with django_assert_num_queries(4):  # the coin, each coin's oldest bar wanted, the bars, the daily bars
        api.get(URL, {"timeframe": "1h", "series": "true"})
    with django_assert_num_queries(1):  # the coin; the rest comes from the cache
        api.get(URL, {"timeframe": "1h", "series": "true"})
    with django_assert_num_queries(1):
        api.get(URL, {"timeframe": "1h"})


# --- patterns -------------------------------------------------------------------------------------

DOUBLE_BOTTOM = Pattern(
    kind="double_bottom",
    direction="bullish",
    confidence=0.8,
    start_time=NOW - 40 * 3600,
    end_time=NOW - 3600,
    points=[(NOW - 40 * 3600, 101.0, "start"), (NOW - 30 * 3600, 95.0, "first bottom"), (NOW - 3600, 103.0, "end")],
    breakout=102.0,
    target=109.0,
)
WEAK_TRIANGLE = Pattern("symmetrical_triangle", "neutral", 0.2, NOW - 20 * 3600, NOW - 3600, [], 100.0, 104.0)


@pytest.fixture
def detector(monkeypatch):
    """The detector finds a double bottom (and a weak triangle) in rising bars, nothing in falling ones."""
    seen = []

    def detect(bars, *, min_confidence=0.0):
        seen.append(len(bars))
        rising = len(bars) > 30 and bars[-1, CLOSE] > bars[0, CLOSE]
        return [DOUBLE_BOTTOM, WEAK_TRIANGLE] if rising else []

    monkeypatch.setattr("markets.analysis.engine.detect_patterns", detect)
    return seen


def test_patterns_with_their_key_points_breakout_and_target(api, coins, detector):
    bars_store("BTC", "1h", random_walk(200, drift=0.002))
    body = api.get("/api/coins/btc/patterns", {"timeframe": "1h"}).json()
    assert body == {
        "symbol": "BTC",
        "timeframe": "1h",
        "min_confidence": CONFIDENCE_THRESHOLD,
        "patterns": [{**DOUBLE_BOTTOM.as_dict(), "points": [list(p) for p in DOUBLE_BOTTOM.points]}],
    }
    everything = api.get("/api/coins/BTC/patterns", {"timeframe": "1h", "min_confidence": 0}).json()
    assert [p["kind"] for p in everything["patterns"]] == ["double_bottom", "symmetrical_triangle"]
    assert detector == [200]  # detected once, on the closed bars, for both requests


def test_confident_patterns_join_the_summary(api, coins, detector):
    bars_store("BTC", "1h", random_walk(200, drift=0.002))
    signals = api.get(URL, {"timeframe": "1h"}).json()["summary"]["signals"]
    found = [s for s in signals if s["indicator"] == "double_bottom"]
    assert found and found[0]["signal"] == "buy" and found[0]["votes"] is True
    assert not [s for s in signals if s["indicator"] == "symmetrical_triangle"]


@pytest.mark.parametrize(
    ("params", "field"), [({"min_confidence": 2}, "min_confidence"), ({"timeframe": "1w"}, "timeframe")]
)
def test_patterns_reject_bad_parameters(api, coins, params, field):
    response = api.get("/api/coins/BTC/patterns", params)
    assert response.status_code == 400 and field in response.json()


# --- the screener ---------------------------------------------------------------------------------


@pytest.fixture
def screened(coins, detector):
    """BTC rises (RSI high, a double bottom), ETH falls (RSI low), SOL wanders; DOGE and PEPE have no bars."""
    bars_store("BTC", "1h", random_walk(120, seed=1, drift=0.01))
    bars_store("ETH", "1h", random_walk(120, seed=2, drift=-0.01))
    bars_store("SOL", "1h", random_walk(120, seed=3))
    bars_store("SOL", "4h", random_walk(120, seed=4, drift=-0.01, seconds=14400, end=MIDNIGHT + 8 * 3600))


def screen(api, **params) -> list[str]:
    response = api.get("/api/screener", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["results"])
    return [r["symbol"] for r in body["results"]]


def test_screener_by_rsi(api, screened):
    assert screen(api, rsi_below=30) == ["ETH"]
    assert screen(api, rsi_above=70) == ["BTC"]
    assert screen(api, rsi_above=30, rsi_below=70) == ["SOL"]
    assert screen(api) == ["BTC", "ETH", "SOL", "DOGE", "PEPE"]  # no criteria: every coin, by rank


def test_screener_rows_carry_the_latest_values(api, screened):
    btc = api.get("/api/screener", {"rsi_above": 70}).json()["results"][0]
    analysis = api.get(URL, {"timeframe": "1h"}).json()
    assert btc["rsi"] == analysis["indicators"]["rsi"]["value"]
    assert btc["verdict"] == analysis["summary"]["verdict"] and btc["price"] == analysis["price"]
    assert [p["kind"] for p in btc["patterns"]] == ["double_bottom"]  # the weak triangle stays out


def test_screener_by_pattern_volume_and_timeframe(api, screened):
    assert screen(api, pattern="double_bottom") == ["BTC"]
    assert screen(api, pattern="double_bottom", min_confidence=0.9) == []
    assert screen(api, pattern="symmetrical_triangle", min_confidence=0.1) == ["BTC"]
    assert screen(api, min_volume=5e8) == ["BTC", "ETH"]
    assert screen(api, min_volume=5e8, rsi_below=30) == ["ETH"]
    assert screen(api, timeframe="4h", rsi_below=30) == ["SOL"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"rsi_below": 101}, "rsi_below"),
        ({"rsi_above": "high"}, "rsi_above"),
        ({"rsi_above": 70, "rsi_below": 30}, "rsi_above"),
        ({"pattern": "cup_and_handle"}, "pattern"),
        ({"min_volume": -1}, "min_volume"),
        ({"min_volume": "1e16"}, "min_volume"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"timeframe": "2h"}, "timeframe"),
    ],
)
def test_screener_rejects_bad_parameters_naming_them(api, coins, params, field):
    response = api.get("/api/screener", params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_screener_query_count_does_not_grow_with_coins(api, screened, django_assert_num_queries):
    with django_assert_num_queries(4):  # coins, their oldest bars wanted, the bars, the daily bars
        screen(api, rsi_below=30)
    with django_assert_num_queries(1):  # coins; every analysis is cached
        screen(api, rsi_above=70)
    updated = Coin.objects.get(symbol="BTC").updated_at
    for i in range(20):
        Coin.objects.create(symbol=f"X{i}", name=f"Extra {i}", rank=10 + i, price=1.0, updated_at=updated)
        bars_store(f"X{i}", "1h", random_walk(60, seed=100 + i))
    with django_assert_num_queries(4):
        assert len(screen(api)) == 25


def test_openapi_documents_the_analysis_endpoints(api, db):
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for path in ("/api/coins/{symbol}/analysis", "/api/coins/{symbol}/patterns", "/api/screener"):
        assert path in paths
    parameters = {p["name"] for p in paths["/api/coins/{symbol}/analysis"]["get"]["parameters"]}
    assert {"timeframe", "timeframes", "series", "rsi_length", "sma", "bb_std"} <= parameters


def test_a_failing_detector_leaves_the_rest_of_the_analysis_standing(api, market, monkeypatch, caplog):
    def broken(bars, *, min_confidence=0.0):
        raise ValueError("no swings")

    monkeypatch.setattr("markets.analysis.engine.detect_patterns", broken)
    response = api.get(URL, {"timeframe": "1h"})
    assert response.status_code == 200 and isinstance(response.json()["indicators"]["rsi"]["value"], float)
    assert api.get("/api/coins/BTC/patterns", {"timeframe": "1h"}).json()["patterns"] == []
    assert "Pattern detection failed on 300 bars" in caplog.text
