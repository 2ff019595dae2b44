"""Admin for coins: which ones the feed tracks, and pinning the ones users ask for."""

from django.contrib import admin
from django.utils import timezone

from markets.models import Coin


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


UNRANKED = 999_999
