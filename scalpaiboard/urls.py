"""Top-level URLs: pages at /, the API under /api/, the admin, metrics."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from scalpaiboard import health, metrics, views

api = [
    path("auth/", include("scalpaiboard.accounts.api.urls")),
    path("health", health.health, name="health"),
    path("health/live", health.live, name="health-live"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("markets.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("watchlists.api.urls")),
    path("", include("providers.api.urls")),
    path("", include("assistant.api.urls")),
]

# Menu sections whose releases have not landed: a page that says what is coming, not a 404.
upcoming = [path(section, views.upcoming, {"section": section}, name=section) for section in views.UPCOMING]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("robots.txt", views.robots, name="robots"),
    path("accounts/", include("scalpaiboard.accounts.urls")),
    path("", include("alerts.urls")),
    path("", include("watchlists.urls")),
    path("", include("assistant.export_urls")),
    path("", include("providers.urls")),
    path("", include("assistant.urls")),
    *upcoming,
    path("", include("markets.urls")),
]

# JSON under /api/ (with the request id), the regular pages elsewhere.
handler400 = "scalpaiboard.api.bad_request"
handler403 = "scalpaiboard.api.permission_denied"
handler404 = "scalpaiboard.views.page_not_found"
handler500 = "scalpaiboard.api.server_error"
