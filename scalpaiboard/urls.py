"""Top-level URLs: pages at /, the API under /api/, the admin, metrics."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from scalpaiboard import health, metrics

api = [
    path("auth/", include("scalpaiboard.accounts.api.urls")),
    path("health", health.health, name="health"),
    path("health/live", health.live, name="health-live"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("markets.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("metrics", metrics.metrics, name="metrics"),
    path("accounts/", include("scalpaiboard.accounts.urls")),
    path("", include("markets.urls")),
]

handler404 = "scalpaiboard.api.not_found"
