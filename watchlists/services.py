"""Writes of the watchlists app (keyword-only ``<thing>_<verb>`` functions)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from watchlists.models import DEFAULT_NAME, Watchlist


def watchlist_default(*, user) -> Watchlist:
    """The user's default list, made when missing."""
    found = Watchlist.objects.filter(user=user, is_default=True).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return Watchlist.objects.create(user=user, name=_free_name(user), is_default=True)
    except IntegrityError:  # made concurrently
        return Watchlist.objects.get(user=user, is_default=True)


def _free_name(user) -> str:
    taken = set(Watchlist.objects.filter(user=user).values_list("name", flat=True))
    name, n = DEFAULT_NAME, 1
    while name in taken:
        n += 1
        name = f"{DEFAULT_NAME} {n}"
    return name


def on_user_created(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of the user model: a new user gets the default list."""
    if created and not raw:
        watchlist_default(user=instance)
