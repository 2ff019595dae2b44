"""Fixtures of the watchlist tests (imported by test_watchlist_*.py): two users on the test market, the
first signed in to an API client, and candles written at chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rest_framework.test import APIClient

from markets.models import Candle, Coin
from scalpaiboard.accounts.models import User


@pytest.fixture
def user(coins):
    return User.objects.create_user(username="trader", email="trader@example.com")


@pytest.fixture
def other(coins):
    return User.objects.create_user(username="other", email="other@example.com")


@pytest.fixture
def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def candle_add(coin: Coin, timeframe: str, open_time: datetime, close: float) -> Candle:
    """One bar of ``coin`` closing at ``close`` (open, high and low around it)."""
    return Candle.objects.create(
        coin=coin, timeframe=timeframe, open_time=open_time, open=close, high=close, low=close, close=close, volume=1.0
    )


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hours_back(moment: datetime, hours: int) -> datetime:
    return hour_floor(moment) - timedelta(hours=hours)
