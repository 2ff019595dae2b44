"""What the watchlist tests (test_watchlist_*.py) share: users, coins, items and candles written at
chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from markets.models import Candle, Coin
from scalpaiboard.accounts.models import User
from watchlists.models import Watchlist, WatchlistItem


def user_make(name: str) -> User:
    """A user (with the default list sign-up gives)."""
    return User.objects.create_user(username=name, email=f"{name}@example.com")


def api_for(user: User) -> APIClient:
    """An API client signed in as ``user``."""
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


def coins_make(count: int, *, price: float = 10.0) -> list[Coin]:
    """``count`` more listed coins (C0001, C0002, ...), priced ``price``."""
    now = timezone.now()
    made = [
        Coin(symbol=f"C{n:04d}", name=f"Coin {n}", rank=100 + n, price=price, volume_24h=1.0, updated_at=now)
        for n in range(1, count + 1)
    ]
    return Coin.objects.bulk_create(made)


def items_make(watchlist: Watchlist, coins: list[Coin]) -> None:
    """``coins`` on the list, in that order, added at their price (written at once, as a fixture)."""
    WatchlistItem.objects.bulk_create(
        WatchlistItem(watchlist=watchlist, coin=coin, position=n, added_price=coin.price)
        for n, coin in enumerate(coins)
    )
