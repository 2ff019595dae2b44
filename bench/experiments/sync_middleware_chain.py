"""Experiment, not project code: run the whole HTTP middleware chain in sync mode, in one thread.

Under ASGI Django gives every async-capable middleware (all the MiddlewareMixin ones: Session,
Common, Csrf, Auth, Messages, XFrameOptions, and django-htmx's) the async path, and
``MiddlewareMixin.__acall__`` runs each ``process_request``/``process_response`` through
``sync_to_async``: about ten loop<->thread hops per request, on top of the switch that the sync-only
``RequestMetricsMiddleware`` and ``WhiteNoiseMiddleware`` at the top of the chain force. A sync-only
no-op middleware placed innermost makes Django adapt once and run the chain sync.

    .venv/bin/python bench/api_coins.py --asgi-app bench.experiments.sync_middleware_chain:application
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scalpaiboard.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402


class SyncOnlyMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.SyncOnlyMiddleware"]

from scalpaiboard.asgi import application  # noqa: E402

__all__ = ["application"]
