"""Portfolio API routes, under /api/ (no trailing slashes: /api/portfolio/transactions/12)."""

from django.urls import path

from alerts.api.urls import view
from watchlists.api.portfolio_views import PortfolioViewSet, TransactionViewSet

urlpatterns = [
    path("portfolio", view(PortfolioViewSet, {"get": "retrieve", "patch": "partial_update"}), name="api-portfolio"),
    path("portfolio/history", view(PortfolioViewSet, {"get": "history"}), name="api-portfolio-history"),
    path(
        "portfolio/transactions",
        view(TransactionViewSet, {"get": "list", "post": "create"}),
        name="api-portfolio-transaction-list",
    ),
    path("portfolio/transactions/export", view(TransactionViewSet, {"get": "export"}), name="api-portfolio-export"),
    path("portfolio/transactions/import", view(TransactionViewSet, {"post": "import_"}), name="api-portfolio-import"),
    path(
        "portfolio/transactions/<int:id>",
        view(TransactionViewSet, {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="api-portfolio-transaction-detail",
    ),
]
