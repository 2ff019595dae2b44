"""Formats of the watchlist page."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def plain(value: float | None) -> str:
    """A price as an input's value: every digit it has, no grouping, no trailing ``.0``; "" for none."""
    if value is None:
        return ""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@register.filter
def errors_of(form, field: str) -> list[str]:
    """The errors of a form's field; none without a form (a row shown, not posted)."""
    return form.errors.get(field, []) if form else []


@register.filter
def raw_value(form, field: str) -> str:
    """What the trader typed into a form's field, to show it again beside its error."""
    value = form[field].value()
    return "" if value is None else value
