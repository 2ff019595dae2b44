"""The project's URLs with the export download included, as the lead includes it at the root (until it
lands there: then the project's own)."""

from django.urls import include, path

from scalpaiboard.urls import urlpatterns as project

included = any(getattr(pattern, "namespace", None) == "assistant_exports" for pattern in project)
urlpatterns = project if included else [path("", include("assistant.export_urls")), *project]
