"""Credentials encrypted at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (the first encrypts, all decrypt)."""

from __future__ import annotations

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialsUnreadable(Exception):
    """None of FIELD_ENCRYPTION_KEYS decrypts a stored credential (its key was dropped too early)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def secrets_encrypt(secrets: dict[str, str]) -> str:
    """The non-empty secrets as one token; "" when there are none."""
    kept = {name: value for name, value in secrets.items() if value}
    return fernet().encrypt(json.dumps(kept, sort_keys=True).encode()).decode() if kept else ""


def secrets_decrypt(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadable(
            "Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEYS: "
            "was the key that encrypted them removed?"
        ) from None


def secrets_rotate(token: str) -> str:
    """The same secrets encrypted with the first key (MultiFernet.rotate)."""
    if not token:
        return token
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable("Stored credentials cannot be decrypted with FIELD_ENCRYPTION_KEYS.") from None


def key_hint(secret: str) -> str:
    """A mask that tells keys apart without revealing them: `sk-…a1b2`; short keys show less."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "…" + secret[-2:]
    return f"{secret[:3]}…{secret[-4:]}"
