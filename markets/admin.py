"""Admin for coins (which ones the feed tracks, pinning the ones users ask for) and where the data came from."""

from django.contrib import admin
from django.utils import timezone

from markets.models import Coin, MarketDataOrigin
from markets.selectors import market_data_origin


@admin.register(Coin)
class CoinAdmin(admin.ModelAdmin):
    """Pinned coins are tracked whatever their volume (MARKET_SOURCE=binance); the rest follows the feed."""

    list_display = ("symbol", "name", "rank", "price", "volume_24h", "is_active", "is_pinned", "updated_at")
    list_editable = ("is_pinned",)
    list_filter = ("is_active", "is_pinned")
    search_fields = ("symbol", "name")
    ordering = ("-is_active", "rank")
    readonly_fields = (
        "price",
        "change_24h",
        "volume_24h",
        "high_24h",
        "low_24h",
        "market_cap",
        "is_active",
        "updated_at",
    )

    def get_fields(self, request, obj=None):
        # Adding a coin is asking the feed to track it: it fills in the figures once it does.
        return ("symbol", "name", "is_pinned") if obj is None else super().get_fields(request, obj)

    def save_model(self, request, obj: Coin, form, change: bool) -> None:
        if not change:
            obj.rank, obj.price, obj.is_active, obj.updated_at = UNRANKED, 0.0, False, timezone.now()
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        # Whose figures these are, above the list: an operator should not have to guess.
        return super().changelist_view(request, {"subtitle": origin_line(), **(extra_context or {})})


UNRANKED = 999_999


def origin_line() -> str:
    """The coins' list's subtitle: "Market data from binance since 2026-12-07 00:52 UTC."."""
    origin = market_data_origin()
    if origin["source"] is None:
        return "Market data from an unrecorded source: the next start records its own."
    since = f"{origin['since']:%Y-%m-%d %H:%M} UTC"
    unfinished = "" if origin["backfilled"] else " (back-fill unfinished: the next start redoes it)"
    return f"Market data from {origin['source']} since {since}{unfinished}."


@admin.register(MarketDataOrigin)
class MarketDataOriginAdmin(admin.ModelAdmin):
    """Read only: the source is MARKET_SOURCE's, recorded by the start that loaded its data."""

    list_display = ("source", "started_at", "backfilled_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
