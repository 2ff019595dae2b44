"""Settings → AI providers and AI usage, under /settings/ai (no trailing slashes)."""

from django.urls import path

from providers import usage_views, views, wizard_views

app_name = "providers"

urlpatterns = [
    path("settings/ai", views.providers_page, name="list"),
    path("settings/ai/add", wizard_views.add_kind, name="add"),
    path("settings/ai/add/credentials", wizard_views.add_credentials, name="add-credentials"),
    path("settings/ai/add/model", wizard_views.add_model, name="add-model"),
    path("settings/ai/add/budget", wizard_views.add_budget, name="add-budget"),
    path("settings/ai/add/test", wizard_views.add_test, name="add-test"),
    path("settings/ai/add/finish", wizard_views.add_finish, name="add-finish"),
    path("settings/ai/usage", usage_views.usage_page, name="usage"),
    path("settings/ai/<int:pk>/edit", views.provider_edit, name="edit"),
    path("settings/ai/<int:pk>/enabled", views.provider_enable, name="enable"),
    path("settings/ai/<int:pk>/test", views.provider_test_view, name="test"),
    path("settings/ai/<int:pk>/delete", views.provider_remove, name="delete"),
]
