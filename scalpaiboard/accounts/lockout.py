"""The log-in lock-out (django-axes): how long it lasts, what it says, and what a success forgives.

Axes counts failed log-ins per account and per address and refuses further attempts past
LOGIN_FAILURE_LIMIT; this module turns that refusal into words and a Retry-After on each surface:
the log-in page and the admin (a form error, status 429) and the JWT token view (429 JSON).
"""

from __future__ import annotations

import math

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from scalpaiboard.api import ApplicationError, api_error, is_api


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler, except that a success forgives only the failures of that account
    from that address: Axes' own reset deletes every failure from the address, so an attacker
    could log in to an account of their own between guesses and never reach the limit."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        deleted, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return deleted


# How much of a username Axes' log holds: a longer one was a database error on PostgreSQL.
LOGGED_USERNAME_LENGTH = AccessAttempt._meta.get_field("username").max_length


def attempt_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username tried (as Axes reads it), cut to what its log holds,
    as Axes cuts the user agent and path."""
    source = credentials or getattr(request, "data", request.POST)
    username = source.get(settings.AXES_USERNAME_FORM_FIELD)
    return None if username is None else str(username)[:LOGGED_USERNAME_LENGTH]


def lockout_seconds_left(*, request: HttpRequest, username: str | None) -> int:
    """Seconds until the newest failure of this account or address leaves the cool-off window."""
    address = get_client_ip_address(request)
    username = None if username is None else str(username)[:LOGGED_USERNAME_LENGTH]
    latest = AccessAttempt.objects.filter(Q(username=username) | Q(ip_address=address)).aggregate(
        latest=Max("attempt_time")
    )["latest"]
    if latest is None:
        return 0
    return max(1, math.ceil((latest + settings.AXES_COOLOFF_TIME - timezone.now()).total_seconds()))


def lockout_message(seconds: int) -> str:
    """What a refused log-in says: why, and when to try again."""
    minutes = math.ceil(seconds / 60)
    return (
        f"Too many failed log-ins for this account or from this address "
        f"(at most {settings.LOGIN_FAILURE_LIMIT} in {settings.LOGIN_COOLOFF_MINUTES} minutes). "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


class LoginLockedOut(ApplicationError):
    """A JWT log-in refused by the lock-out: 429 with Retry-After."""

    status_code = 429

    def __init__(self, *, seconds: int):
        super().__init__(
            lockout_message(seconds), extra={"retry_after": seconds}, headers={"Retry-After": str(seconds)}
        )


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None, credentials=None):
    """AXES_LOCKOUT_CALLABLE, for log-ins through Django's forms: the page the view rendered (its
    form already says why, see forms.LockoutMessageMixin) as a 429 with Retry-After."""
    username = (credentials or {}).get("username") or request.POST.get("username")
    seconds = lockout_seconds_left(request=request, username=username)
    if original_response is None or is_api(request):
        original_response = api_error(request, 429, lockout_message(seconds))
    original_response.status_code = 429
    original_response["Retry-After"] = str(seconds)
    return original_response
