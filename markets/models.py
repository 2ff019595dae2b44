"""Market data: coins with their latest 24h statistics, OHLCV candles, and the source they came from."""

from __future__ import annotations

from django.db import models

from markets.timeframes import Timeframe


class Coin(models.Model):
    """A coin quoted in USDT, named by its base symbol (``BTC``). Prices are in USDT."""

    symbol = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    rank = models.PositiveIntegerField(db_index=True)
    price = models.FloatField()
    change_24h = models.FloatField(default=0.0, help_text="Percent change over the last 24 hours.")
    volume_24h = models.FloatField(default=0.0, help_text="Quote (USDT) volume over the last 24 hours.")
    high_24h = models.FloatField(default=0.0)
    low_24h = models.FloatField(default=0.0)
    circulating_supply = models.FloatField(null=True, blank=True)
    market_cap = models.FloatField(null=True, blank=True, help_text="Price times circulating supply, where known.")
    # The one "listed" flag: lists, the API's coin list and the feed see listed coins only; an unlisted
    # coin keeps its row (and whatever refers to it) and its page.
    is_active = models.BooleanField(
        "listed",
        default=True,
        help_text="False while the feed does not track it: the source does not list it (or it fell out of "
        "the exchange's top coins).",
    )
    is_pinned = models.BooleanField(
        default=False, help_text="Always track this coin while the exchange lists it, whatever its volume."
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["rank"]
        indexes = [
            models.Index(fields=["volume_24h"]),
            models.Index(fields=["change_24h"]),
            models.Index(fields=["market_cap"]),
            models.Index(fields=["price"]),
        ]

    def __str__(self) -> str:
        return self.symbol

    def save(self, *args, **kwargs) -> None:
        self.symbol = self.symbol.upper()
        super().save(*args, **kwargs)


class Candle(models.Model):
    """One closed OHLCV bar. ``open_time`` is the bar's UTC-aligned start; volume is in the base asset."""

    coin = models.ForeignKey(Coin, on_delete=models.CASCADE, related_name="candles")
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    open_time = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()

    class Meta:
        constraints = [
            # Also the index every chart query uses: one coin, one timeframe, newest first.
            models.UniqueConstraint(fields=["coin", "timeframe", "open_time"], name="candle_unique_bar"),
            models.CheckConstraint(
                condition=models.Q(high__gte=models.F("low")) & models.Q(volume__gte=0), name="candle_sane_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coin_id} {self.timeframe} {self.open_time:%Y-%m-%d %H:%M}"


class MarketDataOrigin(models.Model):
    """Which source the stored market data (the coins' listing and figures, the candles) came from: one row.

    A start with another source replaces that data, and ``backfilled_at`` stays empty until the new
    source's back-fill is stored, so that a start after a failed or interrupted switch redoes it.
    """

    SINGLETON = 1

    source = models.CharField(
        max_length=20, blank=True, help_text="The source's name; empty for data stored before sources were recorded."
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="When this source's data replaced the last.")
    backfilled_at = models.DateTimeField(
        "back-filled at",
        null=True,
        blank=True,
        help_text="When its back-fill was stored; empty while a switch is unfinished.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "market data origin"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="market_data_origin_singleton")]

    def __str__(self) -> str:
        return f"market data from {self.source or 'an unrecorded source'}"
