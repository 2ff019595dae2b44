"""Writes of notification channels: a channel as the API and the settings page take it, checked field by
field (each error names the field and what is allowed), then created, edited or deleted; and the test
message a user sends to check a channel, answered with its outcome.

What a target may be (an address, a chat, a URL, a secret) is the transports' to say
(``alerts.transports.*``): the same checks refuse a channel here and a send there.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import time as clock
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts import transports
from alerts.deliveries import message_test
from alerts.messages import PLACEHOLDERS, message_render, message_unknown_placeholders
from alerts.models import Channel
from alerts.transports.apprise import apprise_url_refusal
from alerts.transports.email import email_refusal
from alerts.transports.http import url_refusal
from alerts.transports.telegram import chat_id_refusal
from alerts.transports.webhook import webhook_secret_new, webhook_secret_refusal
from scalpaiboard.api import ApplicationError

KINDS = tuple(Channel.Kind.values)
# The fields of each kind besides the common ones, and the one each kind needs.
KIND_FIELDS = {
    "email": ("address",),
    "telegram": ("chat_id",),
    "webhook": ("url", "secret", "body"),
    "apprise": ("url",),
}
TARGETS = {"email": "address", "telegram": "chat_id", "webhook": "url", "apprise": "url"}
COMMON = ("kind", "name", "enabled", "quiet_hours")
# What the answer adds, which a client may send back unchanged but never sets.
READ_ONLY = ("id", "disabled_reason", "created_at")
# The model's lengths.
MAX_LENGTH = {"name": 100, "address": 254, "chat_id": 32, "url": 2000, "secret": 100, "body": 4000}
QUIET_KINDS = ("email", "telegram", "apprise")
HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# A firing's placeholders, each with a value, to see what a webhook's body template can render to.
SAMPLE_VALUES = {name: "x" for name in PLACEHOLDERS}


class ChannelInvalid(ApplicationError):
    """A refused channel: ``errors`` maps each field to what is wrong and allowed; the 400 body is
    ``{"detail", **errors}`` (as AlertInvalid)."""

    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        self.errors = errors
        super().__init__(message or f"Not a valid channel: see {', '.join(errors)}.", extra=errors)


class _Refused(Exception):
    """One field's value refused, with what is allowed."""


# --- Writes ----------------------------------------------------------------------------------------


def channel_create(*, user, data: dict) -> Channel:
    """A new channel of the user from the API's body (``kind`` and its fields); a webhook without a
    secret gets a new one. Raises ChannelInvalid."""
    kind = _kind(data)
    fields = channel_clean(kind=kind, data=data)
    if kind == "webhook" and not fields.get("secret"):
        fields["secret"] = webhook_secret_new()
    return Channel.objects.create(user=user, kind=kind, **fields)


def channel_update(*, channel: Channel, data: dict) -> Channel:
    """``channel`` with the fields given changed (any but ``kind``); enabling it clears why it was
    disabled. Raises ChannelInvalid."""
    if isinstance(data, dict) and "kind" in data and data["kind"] != channel.kind:
        raise ChannelInvalid({"kind": [f"Cannot change ({channel.kind}): delete the channel and add another."]})
    fields = channel_clean(kind=channel.kind, data=data, partial=True)
    if fields.get("enabled"):
        fields["disabled_reason"] = ""
    for name, value in fields.items():
        setattr(channel, name, value)
    channel.save(update_fields=[*fields, "updated_at"])
    return channel


def channel_delete(*, channel: Channel) -> None:
    """Delete ``channel`` and its delivery log; the alerts that named it no longer do."""
    channel.delete()


def channel_test(*, channel: Channel) -> dict:
    """Send a test message to ``channel`` now and answer how it went: ``{"ok", "error", "permanent",
    "latency_ms"}``. A failure is told, never held against the channel (it stays enabled)."""
    message = message_test(channel)
    started = time.perf_counter()
    error, permanent = None, False
    try:
        transports.transport_for(channel.kind).send(channel, message)
    except transports.TransportError as failed:
        error, permanent = failed.message, failed.permanent
    except transports.Paced as paced:
        error = f"Rate limited by the service's limits: try again in {paced.wait:.0f} s."
    latency_ms = round((time.perf_counter() - started) * 1000)
    return {"ok": error is None, "error": error, "permanent": permanent, "latency_ms": latency_ms}


# --- Cleaning --------------------------------------------------------------------------------------


def _kind(data) -> str:
    if not isinstance(data, dict):
        raise ChannelInvalid({"non_field_errors": ['Must be a JSON object: a channel, e.g. {"kind": "email", ...}.']})
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ChannelInvalid({"kind": [f"Required, one of: {', '.join(KINDS)}."]})
    return kind


def channel_clean(*, kind: str, data: dict, partial: bool = False) -> dict:
    """The model fields of a ``kind`` channel that ``data`` describes (those given with ``partial``),
    each checked. Raises ChannelInvalid naming every bad field."""
    if not isinstance(data, dict):
        raise ChannelInvalid({"non_field_errors": ["Must be a JSON object: the fields to change."]})
    allowed = (*COMMON, *KIND_FIELDS[kind])
    errors = {_field_key(name): [_unknown(name, kind, allowed)] for name in data if name not in allowed}
    target = TARGETS[kind]
    if not partial and data.get(target) in (None, ""):
        errors[target] = [f"Required for a {kind} channel: {REQUIRED_WHAT[target]}."]
    fields = {}
    for name in allowed:
        if name == "kind" or name not in data or name in errors:
            continue
        try:
            fields.update(CLEANERS[name](data[name], kind=kind))
        except _Refused as refused:
            errors[name] = [str(refused)]
    if errors:
        raise ChannelInvalid(errors)
    return fields


REQUIRED_WHAT = {
    "address": "an email address",
    "chat_id": "a numeric chat id (negative for groups) or @channelname",
    "url": "the URL to send to",
}


def _field_key(name: str) -> str:
    # "detail" is the answer's own message: an unknown field of that name is told about apart.
    return "non_field_errors" if name in ("detail", "request_id") else name


def _unknown(name: str, kind: str, allowed: tuple[str, ...]) -> str:
    if name in READ_ONLY:
        return f"{name} is read-only: leave it out (the answer tells it)."
    if name == "quiet_hours" or name in MAX_LENGTH:
        return f"Not a field of {kind} channels; allowed: {', '.join(allowed)}."
    shown = name if len(name) <= 40 else name[:40] + "…"
    return f"Unknown field {shown!r}; allowed for {kind} channels: {', '.join(allowed)}."


def _text(value, name: str) -> str:
    """``value`` if it is text the model can hold (no NUL), else _Refused."""
    limit = MAX_LENGTH[name]
    if not isinstance(value, str) or "\x00" in value or len(value) > limit:
        raise _Refused(f"Must be text of at most {limit} characters, without NUL.")
    return value


def _refusing(refusal: Callable[[str], str | None], value: str) -> str:
    """``value`` if ``refusal`` finds nothing wrong with it, else _Refused with what it says."""
    why = refusal(value)
    if why:
        # The transports' reasons are phrases ("must be ..."), told here as sentences.
        raise _Refused(why[0].upper() + why[1:] + ("" if why.endswith(".") else "."))
    return value


def _name(value, *, kind: str) -> dict:
    return {"name": _text(value, "name").strip()}


def _enabled(value, *, kind: str) -> dict:
    if not isinstance(value, bool):
        raise _Refused("Must be true or false.")
    return {"enabled": value}


def _address(value, *, kind: str) -> dict:
    return {"address": _refusing(email_refusal, _text(value, "address").strip())}


def _chat_id(value, *, kind: str) -> dict:
    # A chat id is a number in Telegram's own API: taken as a JSON number too, stored as text.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return {"chat_id": _refusing(chat_id_refusal, _text(value, "chat_id").strip())}


def _url(value, *, kind: str) -> dict:
    url = _text(value, "url").strip()
    return {"url": _refusing(url_refusal if kind == "webhook" else apprise_url_refusal, url)}


def _secret(value, *, kind: str) -> dict:
    if value is None:  # left to be generated
        return {}
    return {"secret": _refusing(webhook_secret_refusal, _text(value, "secret"))}


def _body(value, *, kind: str) -> dict:
    body = _text(value, "body")
    unknown = message_unknown_placeholders(body)
    if unknown:
        names = ", ".join("{{" + (n if len(n) <= 40 else n[:40] + "…") + "}}" for n in unknown)
        allowed = ", ".join("{{" + n + "}}" for n in PLACEHOLDERS)
        raise _Refused(f"Unknown placeholders {names}; allowed: {allowed}.")
    if body and not message_render(body, SAMPLE_VALUES).strip():
        raise _Refused(
            "Renders to nothing: give a template with text or {{placeholders}}, or leave it empty "
            "for the alert's message."
        )
    return {"body": body}


def _quiet_hours(value, *, kind: str) -> dict:
    if value is None:
        return {"quiet_start": None, "quiet_end": None, "quiet_timezone": ""}
    if kind not in QUIET_KINDS:
        raise _Refused(f"A {kind} channel has no quiet hours (receivers decide when to act): null or leave it out.")
    shape = '{"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"}'
    if not isinstance(value, dict) or set(value) != {"start", "end", "timezone"}:
        raise _Refused(f"Must be null or {shape}.")
    start, end = _clock(value["start"], "start"), _clock(value["end"], "end")
    if start == end:
        raise _Refused("start and end must differ (quiet hours from start to end, across midnight when end < start).")
    return {"quiet_start": start, "quiet_end": end, "quiet_timezone": _timezone(value["timezone"])}


def _clock(value, name: str) -> clock:
    found = HH_MM.match(value) if isinstance(value, str) else None
    if found is None:
        raise _Refused(f"{name} must be a time of day as HH:MM, 00:00 to 23:59.")
    return clock(int(found[1]), int(found[2]))


def _timezone(value) -> str:
    refused = _Refused("timezone must be an IANA time zone name, e.g. Europe/Paris or UTC.")
    if not isinstance(value, str) or not 0 < len(value) <= 64 or "\x00" in value:
        raise refused
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, or not a name ("../x", a directory)
        raise refused from None
    return value


CLEANERS = {
    "name": _name,
    "enabled": _enabled,
    "quiet_hours": _quiet_hours,
    "address": _address,
    "chat_id": _chat_id,
    "url": _url,
    "secret": _secret,
    "body": _body,
}
