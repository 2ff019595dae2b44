"""Admin of the portfolio: each user's costing method, and transactions (searchable by user and coin)."""

from django.contrib import admin

from watchlists.models import Portfolio, Transaction


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = ["user", "method"]
    list_filter = ["method"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["time", "user", "side", "coin", "quantity", "price", "fee"]
    list_filter = ["side"]
    search_fields = ["user__username", "coin__symbol", "note"]
    raw_id_fields = ["user", "coin"]
    date_hierarchy = "time"
    list_select_related = ["user", "coin"]
