"""How pages show alerts: the condition in words, the bell's unread count, an analysis suggestion as
the alert form's fields, and times in UTC."""

from __future__ import annotations

from datetime import datetime

from django import template

from alerts.conditions import condition_words
from alerts.forms import FREQUENCIES, KIND_LABELS, suggestion_fields
from alerts.selectors import notifications_unread_count

register = template.Library()


@register.filter
def in_words(condition: dict) -> str:
    """``{"kind": "crossing_up", "level": 100.0}`` → "crosses up 100"."""
    return condition_words(condition)


@register.filter
def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


@register.filter
def frequency_definition(frequency: str) -> str:
    return FREQUENCIES[frequency][0] if frequency in FREQUENCIES else ""


@register.filter
def utc(value: datetime | None) -> str:
    """A time as "2026-12-07 04:00:12 UTC"; "—" for none."""
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "—"


@register.filter
def alert_fields(suggestion: dict) -> dict | None:
    """The alert form's fields for one of the analysis page's suggestions; None when no kind fits."""
    return suggestion_fields(suggestion)


@register.simple_tag
def unread_notifications(user) -> int:
    """How many of the user's notifications are unread (0 for a visitor)."""
    if not user.is_authenticated:
        return 0
    return notifications_unread_count(user=user)


STATUS_LABELS = {"active": "Active", "paused": "Paused", "triggered": "Triggered", "expired": "Expired"}


@register.filter
def status_label(status: str) -> str:
    """``auto_paused`` → "Auto-paused"."""
    return STATUS_LABELS.get(status, status.replace("_", "-").capitalize())


@register.filter
def utc_short(value: datetime | None) -> str:
    """A time as "12-07 04:00:12" (UTC), for table cells; "—" for none."""
    return f"{value:%m-%d %H:%M:%S}" if value else "—"


@register.filter
def readings(values: dict) -> str:
    """A firing's readings in one line: "rsi 71.2 · close 97,012.5"."""
    return " · ".join(f"{name} {_reading(value)}" for name, value in values.items())


def _reading(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
