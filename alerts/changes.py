"""A version number of the set of alerts, bumped after every write that changes what the engine must
evaluate (create, edit, pause, resume, delete, status changes), so that engines holding the alerts in
memory (one per Celery worker, or the embedded server) know when to reload them."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "alerts:version"


def alerts_changed() -> None:
    """Bump the version once the current transaction commits (at once outside one)."""
    transaction.on_commit(_bump)


def alerts_version() -> int:
    """The current version: 0 until the first change, and after the cache forgot it (then engines reload)."""
    return cache.get(VERSION_KEY) or 0


def _bump() -> None:
    # A fresh value rather than an increment: cache.incr fails on a missing key, and a value that went
    # missing (a cache restart) must still differ from what every engine last saw.
    cache.set(VERSION_KEY, time.time_ns(), timeout=None)
