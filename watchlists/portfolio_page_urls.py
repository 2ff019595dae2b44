"""Page URLs of the portfolio (see watchlists/urls.py): /portfolio and the posts of its forms."""

from django.urls import path

from watchlists import portfolio_views

urlpatterns = [
    path("portfolio", portfolio_views.portfolio_page, name="portfolio"),
    path("portfolio/transactions", portfolio_views.transaction_add, name="portfolio-transaction-add"),
    path(
        "portfolio/transactions/<int:pk>/delete",
        portfolio_views.transaction_remove,
        name="portfolio-transaction-delete",
    ),
    path("portfolio/method", portfolio_views.method_set, name="portfolio-method"),
    path("portfolio/import", portfolio_views.transactions_upload, name="portfolio-import"),
]
