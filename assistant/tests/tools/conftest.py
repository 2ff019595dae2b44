"""Fixtures of the tools' tests: two users on the test market (distinct emails), bars for the analysis, a
pattern detector with known findings, and the export download routed."""

from __future__ import annotations

import pytest

from assistant.tools import tool_run
from markets.analysis.patterns import Pattern
from markets.candles import CLOSE
from markets.tests.analysis_data import NOW, bars_store, random_walk
from scalpaiboard.accounts.models import User

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
def user(coins):
    return User.objects.create_user(username="tools-trader", email="tools-trader@example.com")


@pytest.fixture
def other(coins):
    return User.objects.create_user(username="tools-other", email="tools-other@example.com")


@pytest.fixture
def detector(monkeypatch):
    """The detector finds a double bottom (and a weak triangle) in rising bars, nothing in falling ones."""

    def detect(bars, *, min_confidence=0.0):
        rising = len(bars) > 30 and bars[-1, CLOSE] > bars[0, CLOSE]
        return [DOUBLE_BOTTOM, WEAK_TRIANGLE] if rising else []

    monkeypatch.setattr("markets.analysis.engine.detect_patterns", detect)


@pytest.fixture
def market(coins, detector):
    """BTC rises (RSI high, a double bottom), ETH falls (RSI low), SOL wanders; DOGE and PEPE have no bars."""
    bars_store("BTC", "1h", random_walk(120, seed=1, drift=0.01))
    bars_store("ETH", "1h", random_walk(120, seed=2, drift=-0.01))
    bars_store("SOL", "1h", random_walk(120, seed=3))
    return coins


def run(user, name: str, **arguments):
    """The tool's outcome for ``user``."""
    return tool_run(user=user, name=name, arguments=arguments)
