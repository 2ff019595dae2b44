"""Writes for accounts."""

import secrets

from scalpaiboard.accounts.models import User


def user_ensure_operator(*, username: str) -> tuple[User, str | None]:
    """Create a superuser with a random password unless it exists; return it and the new password."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, None
    password = secrets.token_urlsafe(12)
    user = User.objects.create_superuser(username=username, email=None, password=password)
    return user, password
