"""Admin for watchlists and their coins. An operator renames a list and edits its coins' notes and
order; coins are added and removed, and targets and stops set, through the services (the API and the
pages), which keep the item's alerts and the list's alerts in step: the inline does not add or delete.
A list is deleted through ``watchlist_delete`` (with its items' alerts); the default list is kept.
The portfolio's models (Portfolio, Transaction) are registered in ``watchlists.portfolio_admin``."""

from django.contrib import admin
from django.db.models import Count

from watchlists import portfolio_admin  # noqa: F401 (registers the portfolio's models)
from watchlists.models import Watchlist, WatchlistItem
from watchlists.services import watchlist_delete


class WatchlistItemInline(admin.TabularInline):
    model = WatchlistItem
    fields = ("position", "coin", "note", "added_at", "added_price", "target_price", "stop_price")
    readonly_fields = ("coin", "added_at", "added_price", "target_price", "stop_price")
    ordering = ("position", "id")
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("coin")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "user", "is_default", "coin_count", "created_at")
    list_filter = ("is_default",)
    search_fields = ("=id", "name", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("user", "is_default", "created_at", "updated_at")
    inlines = [WatchlistItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(coin_count=Count("items"))

    @admin.display(description="coins", ordering="coin_count")
    def coin_count(self, watchlist: Watchlist) -> int:
        return watchlist.coin_count

    def has_add_permission(self, request) -> bool:
        return False  # lists are the users' own (the default one is made at sign-up)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and obj.is_default)

    def delete_model(self, request, obj: Watchlist) -> None:
        watchlist_delete(watchlist=obj)

    def delete_queryset(self, request, queryset) -> None:
        for watchlist in queryset.filter(is_default=False):
            watchlist_delete(watchlist=watchlist)
