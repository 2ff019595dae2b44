"""Admin of the portfolio: each user's costing method, and transactions (searchable by user and coin).
An edit here is not checked against holdings as the API's are; the portfolio still reads (a sell of more
than was held counts as selling what was)."""

from functools import partial

from django.contrib import admin
from django.db import transaction as db_transaction

from watchlists.models import Portfolio, Transaction
from watchlists.portfolio_selectors import positions_changed


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

    # An edit here does not go through the services: the owners' cached positions are dropped the same.
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        _changed({obj.user_id})

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        _changed({obj.user_id})

    def delete_queryset(self, request, queryset) -> None:
        users = set(queryset.values_list("user_id", flat=True))
        super().delete_queryset(request, queryset)
        _changed(users)


def _changed(user_ids: set) -> None:
    for user_id in user_ids:
        db_transaction.on_commit(partial(positions_changed, user_id=user_id))
