"""Strict readers for settings that come from the environment.

django-environ parses URLs and lists; these wrappers make a value that cannot be parsed
stop start-up with a message naming the variable, instead of quietly becoming a default.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = env.str(name, default=None)
    return None if value is None else value.strip()


def _fail(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable {name}={value!r} is invalid: expected {expected}.")


def read_bool(name: str, *, default: bool) -> bool:
    """A boolean: true/false, yes/no, on/off or 1/0."""
    value = _raw(name)
    if value is None or value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise _fail(name, value, "true or false (also yes/no, on/off, 1/0)")


def read_int(name: str, *, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer, optionally within [minimum, maximum]."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _fail(name, value, "an integer") from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise _fail(name, value, f"an integer between {minimum} and {maximum}")
    return number


def read_float(name: str, *, default: float, minimum: float = 0.0) -> float:
    """A finite number no lower than ``minimum``."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise _fail(name, value, "a number") from None
    if not (minimum <= number < float("inf")):
        raise _fail(name, value, f"a finite number no lower than {minimum}")
    return number


def read_str(name: str, *, default: str, choices: tuple[str, ...] | None = None) -> str:
    """A string, optionally one of ``choices``."""
    value = _raw(name)
    if value is None or value == "":
        return default
    if choices and value not in choices:
        raise _fail(name, value, "one of " + ", ".join(choices))
    return value


def read_list(name: str, *, default: list[str]) -> list[str]:
    """A comma-separated list."""
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


def read_duration(name: str, *, default: float) -> float:
    """A duration in seconds: ``90``, ``90s``, ``2m``, ``1h`` or ``500ms``."""
    value = _raw(name)
    if value is None or value == "":
        return default
    return _duration(name, value, value)


def read_durations(name: str, *, default: list[float]) -> list[float]:
    """A comma-separated list of durations, at least one (``2s,10s,30s,2m``)."""
    value = _raw(name)
    if value is None or value == "":
        return default
    return [_duration(name, value, item.strip()) for item in value.split(",")]


def _duration(name: str, value: str, item: str) -> float:
    match = _DURATION.match(item.lower())
    if not match:
        raise _fail(name, value, "durations such as 2s, 10s, 2m or 1h, separated by commas")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def read_networks(name: str, *, default: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of addresses or networks (``127.0.0.1, 10.0.0.0/8, ::1``)."""
    networks = []
    for item in read_list(name, default=default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise _fail(name, item, "IP addresses or networks separated by commas, e.g. 127.0.0.1,10.0.0.0/8") from None
    return networks


def read_url(name: str, *, default: str | None, schemes: tuple[str, ...]) -> str | None:
    """A URL whose scheme is one of ``schemes``."""
    value = _raw(name)
    if value is None or value == "":
        return default
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes or not rest:
        raise _fail(name, value, "a URL starting with " + " or ".join(f"{s}://" for s in schemes))
    return value


def read_database(name: str, *, default: str) -> dict[str, Any]:
    """A database URL parsed by django-environ (postgres:// or sqlite:///)."""
    url = read_url(name, default=default, schemes=("postgres", "postgresql", "pgsql", "sqlite"))
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise _fail(name, url, f"a database URL ({exc})") from None
    if config.get("ENGINE", "").endswith("sqlite3") is False and not config.get("NAME"):
        raise _fail(name, url, "a database URL that names the database, e.g. postgres://user@host:5432/name")
    return config


def _is_origin(text: str) -> bool:
    """Whether ``text`` is an http(s) origin written as browsers send it: scheme://host[:port]."""
    try:
        url = urlsplit(text)
        url.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return False
    written_as_sent = text == f"{url.scheme}://{url.netloc}".lower()  # no path or slash, lower case
    return url.scheme in ("http", "https") and bool(url.hostname) and written_as_sent


def read_origins(name: str) -> list[str]:
    """A comma-separated list of origins, each compared as written with a browser's Origin header."""
    origins = read_list(name, default=[])
    for origin in origins:
        if not _is_origin(origin):
            raise _fail(name, origin, "origins such as https://app.example.com or http://localhost:3000 (no path)")
    return origins


def read_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """A request header, as Django names it in META, and the value that means HTTPS:
    ``HTTP_X_FORWARDED_PROTO,https``; None when unset."""
    value = _raw(name)
    if not value:
        return None
    header, _, secure = (part.strip() for part in value.partition(","))
    if not re.fullmatch(r"HTTP_[A-Z0-9_]+", header) or not secure or "," in secure:
        raise _fail(name, value, "a header as Django names it and its HTTPS value, e.g. HTTP_X_FORWARDED_PROTO,https")
    return header, secure


def read_fernet_keys(name: str, *, embedded_default: Callable[[], str] | None) -> list[str]:
    """Comma-separated Fernet keys (url-safe base64 of 32 bytes). Unset: ``embedded_default()``'s key,
    or, when there is none (the full stack), start-up stops naming the variable."""
    value = _raw(name)
    if not value:
        if embedded_default is None:
            raise ImproperlyConfigured(
                f"Environment variable {name} is not set: the full stack needs it to encrypt stored credentials "
                'on every process alike. Make one with: python3 -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            )
        value = embedded_default()
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys or not all(_is_fernet_key(key) for key in keys):
        raise ImproperlyConfigured(
            f"Environment variable {name} is invalid: expected comma-separated Fernet keys "
            "(url-safe base64 of 32 bytes each)."
        )
    return keys


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32 and len(key) == 44
    except (binascii.Error, ValueError):
        return False
