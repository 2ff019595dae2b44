"""Watchlists (named, ordered lists of coins a user follows) and the portfolio (transactions, from which
positions and profit and loss are computed in ``watchlists.portfolio``)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from watchlists.fields import ExactDecimalField

MAX_ITEMS = 500  # coins on one list
DEFAULT_NAME = "Watchlist"


class Watchlist(models.Model):
    """A user's named list of coins; ``is_default`` marks the one the seed's ``/api/watchlist`` acts on
    (one per user, made at sign-up)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists")
    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0, help_text="Order among the user's lists.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="watchlist_unique_name"),
            models.UniqueConstraint(fields=["user"], condition=Q(is_default=True), name="watchlist_one_default"),
        ]

    def __str__(self) -> str:
        return self.name


class WatchlistItem(models.Model):
    """A coin on a list, in the list's order, with the price it had when added; an optional target and
    stop price, each kept as a ``crossing_up`` / ``crossing_down`` alert on the coin."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items")
    coin = models.ForeignKey("markets.Coin", on_delete=models.PROTECT, related_name="watchlist_items")
    position = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=500, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    added_price = models.FloatField(help_text="The coin's price when it was added (USDT).")
    target_price = models.FloatField(null=True, blank=True)
    stop_price = models.FloatField(null=True, blank=True)
    target_alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="crossing_up"
    )
    stop_alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="crossing_down"
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["watchlist", "coin"], name="watchlist_item_unique_coin")]

    def __str__(self) -> str:
        return f"{self.coin_id} on {self.watchlist_id}"


class Portfolio(models.Model):
    """A user's portfolio settings (one each, made on first use): how positions are costed."""

    class Method(models.TextChoices):
        AVERAGE = "average", "average cost"
        FIFO = "fifo", "first in, first out"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolio")
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.AVERAGE)

    def __str__(self) -> str:
        return f"portfolio of {self.user_id}"


class Transaction(models.Model):
    """One movement of a coin in or out of the user's holdings. Money and quantities are exact decimals
    (USDT prices and fees); positions are replayed from these in time order."""

    class Side(models.TextChoices):
        BUY = "buy"
        SELL = "sell"
        TRANSFER_IN = "transfer_in", "transfer in"
        TRANSFER_OUT = "transfer_out", "transfer out"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="transactions")
    coin = models.ForeignKey("markets.Coin", on_delete=models.PROTECT, related_name="transactions")
    side = models.CharField(max_length=12, choices=Side.choices)
    quantity = ExactDecimalField(max_digits=38, decimal_places=18)
    price = ExactDecimalField(max_digits=38, decimal_places=18, default=Decimal(0), help_text="USDT per coin.")
    fee = ExactDecimalField(max_digits=38, decimal_places=18, default=Decimal(0), help_text="USDT.")
    time = models.DateTimeField(default=timezone.now, db_index=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["user", "coin", "time"], name="transaction_user_coin_time")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transaction_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gte=0) & Q(fee__gte=0), name="transaction_money_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.coin_id}"
