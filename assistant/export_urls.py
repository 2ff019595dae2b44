"""The export tool's download link; included by the project's URLs at the root (``/assistant/exports/<token>``)."""

from django.urls import path

from assistant import exports

app_name = "assistant_exports"

urlpatterns = [path("assistant/exports/<uuid:token>", exports.export_download, name="download")]
