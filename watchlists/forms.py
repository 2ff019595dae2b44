"""The watchlist page's forms: a list's name, a coin to add, and an item's note, target and stop.

The forms gather what the trader typed; the services (``watchlists.services``) validate it, and the
errors they raise, keyed by field (``{"symbol": ["…"]}``), land on the fields that hold them
(``errors_from``), so that the page and the API say the same thing.
"""

from __future__ import annotations

from django import forms

from scalpaiboard.api import ApplicationError
from watchlists.models import Watchlist, WatchlistItem

PRICE_ERROR = "Enter a positive price in USDT, or leave it empty to clear it."


class WatchlistNameForm(forms.Form):
    """A new list's name, or a list's new name."""

    name = forms.CharField(
        max_length=Watchlist._meta.get_field("name").max_length,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Layer 2s", "autocomplete": "off"}),
    )


class ItemAddForm(forms.Form):
    """A coin to add to a list, with an optional note."""

    symbol = forms.CharField(
        label="Coin",
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "BTC", "list": "coin-symbols", "autocomplete": "off"}),
    )
    note = forms.CharField(
        max_length=WatchlistItem._meta.get_field("note").max_length,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "Why you follow it (optional)"}),
    )


class PriceField(forms.FloatField):
    """A USDT price above zero, or nothing (which clears it)."""

    def __init__(self, **kwargs):
        messages = {"invalid": PRICE_ERROR, "min_value": PRICE_ERROR}
        attrs = {"step": "any", "min": "0", "inputmode": "decimal", "placeholder": "—"}
        super().__init__(required=False, min_value=0, error_messages=messages, **kwargs)
        self.widget = forms.NumberInput(attrs=attrs)

    def validate(self, value):
        super().validate(value)
        if value is not None and value <= 0:
            raise forms.ValidationError(PRICE_ERROR, code="min_value")


class ItemEditForm(forms.Form):
    """An item's note, and its target and stop prices (each kept as a crossing alert)."""

    note = forms.CharField(max_length=WatchlistItem._meta.get_field("note").max_length, required=False)
    target_price = PriceField(label="Target")
    stop_price = PriceField(label="Stop")

    def changes(self, item: dict) -> dict:
        """The cleaned fields that differ from the item's current values (an unchanged target keeps its
        alert as it is, fired or not)."""
        return {name: value for name, value in self.cleaned_data.items() if value != item[name]}


def errors_from(form: forms.Form, error: ApplicationError) -> None:
    """The services' errors on the form's fields that hold them; the rest above the form."""
    placed = False
    for field, messages in error.extra.items():
        if field in form.fields:
            for message in messages if isinstance(messages, list) else [messages]:
                form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, error.message)
