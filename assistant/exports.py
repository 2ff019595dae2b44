"""The download of a file the export tool made (``/assistant/exports/<token>``): its owner's only (404 for
anyone else, as for a token that never was), until it expires (410)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from assistant.models import Export


@require_GET
@login_required
def export_download(request: HttpRequest, token: UUID) -> HttpResponse:
    """The export as an attachment, to the user who made it."""
    export = Export.objects.filter(token=token, user=request.user).first()
    if export is None:
        raise Http404("No export of yours has this link.")
    if export.expires_at <= timezone.now():
        return HttpResponse(
            "This export has expired: ask the assistant to export again.", status=410, content_type="text/plain"
        )
    response = HttpResponse(export.body, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "private, no-store"  # the user's data: no shared cache keeps it
    return response
