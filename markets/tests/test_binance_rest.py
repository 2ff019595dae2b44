"""The Binance REST client against the local imitation: weight pacing, Retry-After pauses, retries, errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from markets.sources.binance.rest import BinanceError, BinanceRest, BinanceUnavailable, Throttled, WeightGovernor
from markets.tests.binance_imitation import BinanceImitation, imitation_running, seed_symbols


@pytest.fixture
def binance():
    with imitation_running(BinanceImitation(seed_symbols(5))) as imitation:
        yield imitation


def client(imitation: BinanceImitation, **options) -> BinanceRest:
    return BinanceRest(base_url=imitation.rest_url, backoff=0.05, **options)


def klines(rest: BinanceRest, pair: str = "BTCUSDT") -> list:
    return rest.klines(pair, "1m", start_ms=None, end_ms=int(time.time() * 1000), limit=5)


def statuses(imitation: BinanceImitation) -> list[int]:
    return [r.status for r in imitation.requests]


# --- weight ------------------------------------------------------------------------------------


def test_exchange_info_limits_are_adopted_with_their_header():
    with imitation_running(BinanceImitation(seed_symbols(2), weight_limit=300, weight_interval="10S")) as binance:
        rest = client(binance)
        rest.exchange_info()

        windows = {(w.seconds, w.limit, w.header) for w in rest.governor.windows}
    assert (10, 300, "x-mbx-used-weight-10s") in windows
    assert (300, 61000, None) in windows  # RAW_REQUESTS: counted per request, no header


def test_requests_are_paced_to_stay_under_the_weight_limit():
    # 20 weight a second: 30 klines requests (2 each) from four threads need four windows.
    with imitation_running(BinanceImitation(seed_symbols(2), weight_limit=20, weight_interval="1S")) as binance:
        rest = client(binance)
        rest.exchange_info()
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: klines(rest), range(30)))
        elapsed = time.monotonic() - started

    assert set(statuses(binance)) == {200}
    assert binance.max_weight_per_window() <= 20
    assert elapsed > 2.0  # 60 weight at 18 a window (90 % of the limit)


def test_weight_used_by_other_clients_of_the_ip_slows_this_one():
    with imitation_running(BinanceImitation(seed_symbols(2), weight_limit=100, weight_interval="2S")) as binance:
        rest = client(binance)
        while time.time() % 2 > 0.3:  # start early in a window
            time.sleep(0.02)
        rest.exchange_info()  # 20 weight; budget 90
        for _ in range(2):  # another process on the same IP: 50 weight
            httpx.get(f"{binance.rest_url}/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 500})

        for _ in range(12):
            klines(rest)  # the first answer reports 72 used: 9 more fit under 90, not 34

    ours = [r for r in binance.requests if r.path == "/api/v3/klines"]
    window = int(ours[0].at // 2)
    assert [int(r.at // 2) == window for r in ours] == [True] * 10 + [False] * 2
    assert set(statuses(binance)) == {200}


# --- 429 and 418 -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 418])
def test_retry_after_pauses_every_request_for_the_whole_period(binance, status):
    rest = client(binance)
    binance.force(status, retry_after=2)
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(klines, rest)
        time.sleep(0.3)  # the refusal has arrived: every thread must now wait it out
        others = [pool.submit(klines, rest, pair) for pair in ("ETHUSDT", "SOLUSDT", "XRPUSDT")]
        assert first.result() and all(f.result() for f in others)
    refused = next(r for r in binance.requests if r.status == status)

    later = [r.at - refused.at for r in binance.requests if r is not refused]
    assert min(later) >= 2.0  # nothing, from any thread, within Retry-After
    assert time.monotonic() - started >= 2.0
    assert statuses(binance).count(status) == 1


def test_a_page_is_told_to_retry_instead_of_waiting_out_a_long_pause(binance):
    rest = client(binance)
    binance.force(429, retry_after=30)
    with pytest.raises(Throttled):
        rest.depth("BTCUSDT", 10, max_wait=2.0)
    started = time.monotonic()
    with pytest.raises(Throttled) as raised:
        rest.trades("BTCUSDT", 10, max_wait=2.0)
    assert time.monotonic() - started < 0.5
    assert raised.value.wait > 25
    assert len(binance.requests) == 1  # the second call never reached Binance


def test_the_governor_holds_requests_back_until_the_pause_ends():
    governor = WeightGovernor()
    governor.pause(0.5)
    started = time.monotonic()
    governor.acquire(1)
    assert time.monotonic() - started >= 0.45


# --- failures ----------------------------------------------------------------------------------


def test_failed_calls_are_retried_until_they_succeed(binance):
    binance.rest_failure_rate = 0.4
    rest = client(binance, retries=8)
    results = [klines(rest) for _ in range(10)]
    assert all(len(r) == 5 for r in results)
    assert 503 in statuses(binance)


def test_a_service_that_keeps_failing_raises_after_the_retries(binance):
    binance.rest_failure_rate = 1.0
    with pytest.raises(BinanceUnavailable, match="HTTP 503"):
        klines(client(binance, retries=2))
    assert statuses(binance) == [503, 503, 503]


def test_an_unknown_symbol_is_refused_without_retries(binance):
    with pytest.raises(BinanceError) as raised:
        klines(client(binance), pair="NOPEUSDT")
    assert (raised.value.status, raised.value.code) == (400, -1121)
    assert len(binance.requests) == 1


def test_an_unreachable_exchange_raises_after_the_retries():
    rest = BinanceRest(base_url="http://127.0.0.1:9", backoff=0.01, retries=1)
    with pytest.raises(BinanceUnavailable, match="ConnectError"):
        rest.server_time()
