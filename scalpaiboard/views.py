"""Pages no app owns: the not-found page, the sections still to come, favicon and robots.txt."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# What each section of the menu will hold, until its release lands.
UPCOMING: dict[str, tuple[str, str]] = {}


@require_GET
def upcoming(request: HttpRequest, section: str) -> HttpResponse:
    """A menu section whose release has not landed yet: what it will do, instead of a 404."""
    title, description = UPCOMING[section]
    return render(request, "upcoming.html", {"section": section, "title": title, "description": description})


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Any 404: a redirect when only a trailing slash is wrong; else JSON under /api/, or a page that
    says what was not found and offers the search."""
    if request.path.endswith("/") and not _resolves(request.path) and _resolves(request.path[:-1]):
        return _without_slash(request)
    if request.path.startswith("/api/"):
        from scalpaiboard.api import not_found  # here: DRF's settings import scalpaiboard.api themselves

        return not_found(request)
    message = _message(exception)
    context = {"message": message or f"There is no page at {request.path}.", "query": _search_hint(request)}
    return render(request, "404.html", context, status=404)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def _without_slash(request: HttpRequest) -> HttpResponse:
    """301 (308 for methods with a body, so that clients repeat it) to the same address without the slash."""
    target = request.path[:-1]
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    response = HttpResponseRedirect(target)
    response.status_code = 301 if request.method in ("GET", "HEAD") else 308
    return response


def _message(exception: Exception | None) -> str:
    """The reason a view gave (``Http404("No coin named XYZ")``); never an exception's class name."""
    if isinstance(exception, Http404) and not isinstance(exception, Resolver404) and exception.args:
        reason = exception.args[0]
        return reason if isinstance(reason, str) else ""
    return ""


def _search_hint(request: HttpRequest) -> str:
    """The last word of the address, offered as the search: /coins/XYZ suggests "XYZ"."""
    last = request.path.rstrip("/").rsplit("/", 1)[-1]
    return last[:50] if last.isalnum() else ""


FAVICON = Path(settings.BASE_DIR) / "static" / "favicon.ico"
ROBOTS = "User-agent: *\nDisallow: /\n"  # a private dashboard: nothing here is for search engines


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico, which browsers ask for on pages that name no icon (the admin, the API docs)."""
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")


@require_GET
@cache_control(max_age=86400, public=True)
def robots(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ROBOTS, content_type="text/plain")
