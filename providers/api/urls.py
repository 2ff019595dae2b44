"""Providers API routes (no trailing slashes)."""

from django.urls import path

from providers.api.views import ProviderViewSet, usage_view

DETAIL = {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}

urlpatterns = [
    path("ai/providers", ProviderViewSet.as_view({"get": "list", "post": "create"}), name="ai-provider-list"),
    path("ai/providers/<int:id>", ProviderViewSet.as_view(DETAIL), name="ai-provider-detail"),
    path("ai/providers/<int:id>/test", ProviderViewSet.as_view({"post": "test"}), name="ai-provider-test"),
    path("ai/providers/<int:id>/models", ProviderViewSet.as_view({"get": "models"}), name="ai-provider-models"),
    path("ai/providers/<int:id>/budget", ProviderViewSet.as_view({"put": "budget"}), name="ai-provider-budget"),
    path("ai/usage", usage_view, name="ai-usage"),
]
