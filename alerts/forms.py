"""The alert form: the fields of the API's alert, with the condition's parameters following its kind.

The form only gathers what the trader typed into the API's shape (``AlertForm.alert_data``); the
services (``alerts.services.alert_create`` and ``alert_update``) validate it, and their errors, keyed
by dotted paths (``condition.level``), land on the fields that hold them (``AlertForm.add_service_errors``).
Numbers go to the services as typed when they do not parse, so that there is one set of messages.
"""

from __future__ import annotations

import json

from django import forms

from alerts.channel_forms import channel_label
from alerts.conditions import ALL_OF, BAR_KINDS, PRICE_KINDS, Param
from alerts.messages import DEFAULT_MESSAGE, FIRING_FIELDS
from alerts.models import Alert, Channel
from alerts.selectors import channels_list
from markets.analysis.patterns.pattern import PATTERN_KINDS
from markets.timeframes import Timeframe
from watchlists.models import Watchlist

DEFAULT_KIND = "crossing"

KIND_LABELS = {
    "price_above": "Price above",
    "price_below": "Price below",
    "crossing_up": "Crossing up",
    "crossing_down": "Crossing down",
    "crossing": "Crossing (either way)",
    "entering_channel": "Entering a channel",
    "exiting_channel": "Exiting a channel",
    "moving_up": "Moving up %",
    "moving_down": "Moving down %",
    "rsi_above": "RSI above",
    "rsi_below": "RSI below",
    "rsi_crosses_above": "RSI crosses above",
    "rsi_crosses_below": "RSI crosses below",
    "macd_cross_bullish": "MACD crosses above its signal",
    "macd_cross_bearish": "MACD crosses below its signal",
    "bb_break_upper": "Close breaks the upper Bollinger band",
    "bb_break_lower": "Close breaks the lower Bollinger band",
    "ma_cross_golden": "Golden cross (SMA fast over slow)",
    "ma_cross_death": "Death cross (SMA fast under slow)",
    "volume_spike": "Volume spike",
    "pattern_detected": "Chart pattern detected",
    ALL_OF: "All of several conditions",
}
KIND_CHOICES = [
    ("Price, on every update", [(kind, KIND_LABELS[kind]) for kind in PRICE_KINDS]),
    ("Indicators, at bar closes", [(kind, KIND_LABELS[kind]) for kind in BAR_KINDS]),
    ("Combined", [(ALL_OF, KIND_LABELS[ALL_OF])]),
]

PARAM_LABELS = {
    "level": "Level",
    "low": "Channel low",
    "high": "Channel high",
    "percent": "Move, %",
    "bars": "Bars",
    "length": "Length (bars)",
    "fast": "Fast period",
    "slow": "Slow period",
    "signal": "Signal period",
    "std": "Standard deviations",
    "factor": "Times the mean volume",
    "patterns": "Patterns",
    "min_confidence": "Minimum confidence (0 to 1)",
    "conditions": "Conditions (JSON)",
}
ALL_OF_EXAMPLE = '[{"kind": "crossing_up", "level": 100000}, {"kind": "rsi_above", "level": 60}]'

# Each frequency as TradingView defines it, and a worked example (an alert "crosses up 100" on 1m bars).
FREQUENCIES = {
    "only_once": (
        "Fires the first time the condition holds, then the alert is spent (triggered).",
        "The price crosses 100 at 10:00:12 and again at 10:07:40: one firing, at 10:00:12.",
    ),
    "once_per_bar": (
        "At most once per bar of the timeframe, at the first update in the bar where the condition holds.",
        "Crossings at 10:00:12 and 10:00:48 and 10:01:05: firings at 10:00:12 and 10:01:05 (one per 1m bar).",
    ),
    "once_per_bar_close": (
        "Price conditions are checked only when a bar closes, on its close against the previous close; "
        "at most once per bar.",
        "The price crosses 100 at 10:00:12 and falls back by 10:00:59 (close 99.5): no firing. "
        "A 10:01 bar closing at 100.4 after 99.5: a firing at 10:02:00.",
    ),
    "every_time": (
        "Every update where the condition holds, but none within the cooldown of the previous firing.",
        "Cooldown 60 s; crossings at 10:00:12, 10:00:40 and 10:01:30: firings at 10:00:12 and 10:01:30.",
    ),
}
FREQUENCY_NOTE = "Indicator conditions fire at bar closes whatever the frequency."

MESSAGE_HELP = (
    "Empty: the default. Placeholders: "
    + ", ".join(f"{{{{{name}}}}}" for name in FIRING_FIELDS)
    + ", and readings such as {{rsi}}, {{macd}}, {{change}}."
)

# Service error keys outside the condition that are form fields of the same name.
TOP_FIELDS = (
    *("symbol", "watchlist", "frequency", "timeframe", "cooldown"),
    *("expires_at", "message", "note", "channels", "urgent"),
)


class ChannelChoiceField(forms.TypedMultipleChoiceField):
    """Channel ids as numbers. Whose they are is the services' to check (one message, on this field),
    so any number passes here; text that is not one goes as typed, for the services to name."""

    def __init__(self, **kwargs):
        super().__init__(coerce=_channel_id, **kwargs)

    def valid_value(self, value) -> bool:
        return True


def _channel_id(value):
    return int(value) if str(value).isdigit() else value


def kind_params(kind: str) -> dict[str, Param]:
    """The parameters of ``kind`` (none for an unknown one; all_of has its own field)."""
    return PRICE_KINDS.get(kind) or BAR_KINDS.get(kind) or {}


class AlertForm(forms.Form):
    """An alert's fields; ``kind`` decides which parameter fields the form has."""

    symbol = forms.CharField(
        max_length=20, required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "BTC"})
    )
    watchlist = forms.ChoiceField(
        label="or every coin of", required=False, help_text="A watchlist: coins added later are covered too."
    )
    kind = forms.ChoiceField(label="Condition", choices=KIND_CHOICES)
    frequency = forms.ChoiceField(
        choices=Alert.Frequency.choices, initial=Alert.Frequency.ONLY_ONCE, widget=forms.RadioSelect
    )
    timeframe = forms.ChoiceField(choices=Timeframe.choices, initial=Timeframe.M1)
    cooldown = forms.CharField(
        label="Cooldown (seconds)",
        required=False,
        initial=60,
        help_text="Only for “every time”.",
        widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
    )
    expires_at = forms.CharField(
        label="Expires (UTC)",
        required=False,
        help_text="Empty: never.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    message = forms.CharField(
        required=False,
        max_length=1000,
        help_text=MESSAGE_HELP,
        widget=forms.TextInput(attrs={"placeholder": DEFAULT_MESSAGE}),
    )
    note = forms.CharField(required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    channels = ChannelChoiceField(
        required=False, help_text="Besides the bell, which always rings.", widget=forms.CheckboxSelectMultiple
    )
    urgent = forms.BooleanField(
        label="Urgent: deliver during the channels' quiet hours too", required=False,
        help_text="Otherwise a firing in a channel's quiet hours waits for the digest sent when they end.",
    )  # fmt: skip

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The user's channels, disabled ones too (marked): picking one now sends once it is enabled again.
        self.user_channels = list(channels_list(user=user)) if user is not None else []
        self.fields["channels"].choices = [(str(c.pk), channel_label(c)) for c in self.user_channels]
        lists = Watchlist.objects.filter(user=user).values_list("pk", "name") if user is not None else []
        self.fields["watchlist"].choices = [("", "— the coin —"), *((str(pk), name) for pk, name in lists)]
        self.chosen_kind = self._chosen_kind()
        for name, param in kind_params(self.chosen_kind).items():
            self.fields[name] = param_field(name, param)
        if self.chosen_kind == ALL_OF:
            self.fields["conditions"] = forms.CharField(
                label=PARAM_LABELS["conditions"],
                help_text=f"2 to 5 conditions, e.g. {ALL_OF_EXAMPLE}",
                widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
            )

    def _chosen_kind(self) -> str:
        source = self.data if self.is_bound else self.initial
        kind = source.get("kind") or DEFAULT_KIND
        return kind if kind in KIND_LABELS else DEFAULT_KIND

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.chosen_kind]

    @property
    def kind_note(self) -> str:
        """When the chosen kind is evaluated, in words."""
        if self.chosen_kind in PRICE_KINDS:
            return "Checked on every price update, against the update before it."
        if self.chosen_kind in BAR_KINDS:
            return "Checked when a bar of the timeframe closes, on closed bars only."
        return "All must hold together; with an indicator among them, checked at bar closes, on the close."

    @property
    def frequency_options(self) -> list[tuple[forms.BoundField, str, str]]:
        """Each frequency's radio button, its definition and its worked example."""
        return [(radio, *FREQUENCIES[radio.data["value"]]) for radio in self["frequency"]]

    @property
    def channel_options(self) -> list[tuple[forms.BoundField, Channel]]:
        """Each channel's checkbox beside its channel (to say which are disabled, and why)."""
        by_id = {str(c.pk): c for c in self.user_channels}
        return [(box, by_id[str(box.data["value"])]) for box in self["channels"]]

    @property
    def param_fields(self) -> list[forms.BoundField]:
        """The bound fields of the chosen kind's parameters, in the condition's order."""
        names = ["conditions"] if self.chosen_kind == ALL_OF else list(kind_params(self.chosen_kind))
        return [self[name] for name in names]

    def alert_data(self) -> dict:
        """What the trader typed, in the API's shape (``{"symbol", "condition": {...}, ...}``)."""
        data = self.cleaned_data
        condition = {"kind": self.chosen_kind}
        for name, param in kind_params(self.chosen_kind).items():
            value = _typed(data.get(name), param)
            if value is not None:
                condition[name] = value
        if self.chosen_kind == ALL_OF:
            condition["conditions"] = data.get("conditions")
        result = {
            **_target(data),
            "condition": condition,
            "frequency": data["frequency"],
            "timeframe": data["timeframe"],
            "expires_at": _instant(data.get("expires_at")),
            "message": data.get("message", ""),
            "note": data.get("note", ""),
            "channels": data.get("channels") or [],
            "urgent": bool(data.get("urgent")),
        }
        cooldown = _typed(data.get("cooldown"), Param("integer"))
        if cooldown is not None:
            result["cooldown"] = cooldown
        return result

    def clean_conditions(self):
        text = self.cleaned_data["conditions"]
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError(f"Must be JSON: a list of 2 to 5 conditions, e.g. {ALL_OF_EXAMPLE}") from None

    def add_service_errors(self, errors: dict[str, list[str]], detail: str = "") -> None:
        """Put the services' errors (dotted keys) on the fields that hold them; the rest above the form."""
        for key, messages in errors.items():
            field, prefix = self._field_of(key)
            for message in messages if isinstance(messages, list) else [messages]:
                self.add_error(field, f"{prefix}{message}")
        if not errors and detail:
            self.add_error(None, detail)

    def _field_of(self, key: str) -> tuple[str | None, str]:
        """The field for an error key, and a prefix naming the part of it the message is about."""
        if key in TOP_FIELDS:
            return key, ""
        if key in ("condition", "condition.kind"):  # "condition": a watchlist alert's kind that needs a coin
            return "kind", ""
        if key.startswith("condition.conditions"):
            if "conditions" not in self.fields:
                return None, f"{key}: "
            rest = key.removeprefix("condition.conditions").lstrip(".")
            return "conditions", f"{rest}: " if rest else ""
        name = key.removeprefix("condition.")
        if name in self.fields and name != key:
            return name, ""
        return None, f"{key}: " if key not in ("detail", "non_field_errors") else ""


def _target(data: dict) -> dict:
    """The coin, or the watchlist when one is chosen; neither when both are empty (the services say so)."""
    if data.get("watchlist"):
        return {"watchlist": int(data["watchlist"])}
    symbol = (data.get("symbol") or "").strip().upper()
    return {"symbol": symbol} if symbol else {}


def param_field(name: str, param: Param) -> forms.Field:
    """A form field for one condition parameter: a number box, or checkboxes for pattern classes."""
    label = PARAM_LABELS.get(name, name)
    if param.kind == "patterns":
        choices = [(kind, kind.replace("_", " ")) for kind in PATTERN_KINDS]
        return forms.MultipleChoiceField(
            label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple
        )
    attrs = {"step": "1" if param.kind == "integer" else "any", "inputmode": "decimal"}
    if param.default is not None:
        attrs["placeholder"] = f"{param.default:g}"
    help_text = f"Default {param.default:g}." if param.default is not None else ""
    return forms.CharField(label=label, required=False, help_text=help_text, widget=forms.NumberInput(attrs=attrs))


def alert_initial(alert: Alert) -> dict:
    """The form's initial values for an existing alert."""
    condition = alert.condition
    initial = {
        "symbol": alert.coin.symbol if alert.coin_id else "",
        "watchlist": str(alert.watchlist_id or ""),
        "kind": condition["kind"],
        "frequency": alert.frequency,
        "timeframe": alert.timeframe,
        "cooldown": alert.cooldown,
        "expires_at": alert.expires_at.strftime("%Y-%m-%dT%H:%M") if alert.expires_at else "",
        "message": alert.message,
        "note": alert.note,
        "channels": [str(pk) for pk in alert.channels.values_list("pk", flat=True)],
        "urgent": alert.urgent,
    }
    for name, value in condition.items():
        if name == "conditions":
            initial[name] = json.dumps(value)
        elif name != "kind":
            initial[name] = f"{value:g}" if isinstance(value, float) else value
    return initial


def _typed(value, param: Param):
    """A number typed in a box as a number (whole for integer parameters); text that is not one as
    it was typed, for the services to name; None when empty."""
    if value in (None, "", []):
        return None
    if param.kind == "patterns":
        return list(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if param.kind == "integer" and number.is_integer() else number


def _instant(value: str | None) -> str | None:
    """A datetime-local value ("2026-12-08T10:00"); the services take a time without an offset as UTC."""
    return value.strip() or None if value else None


# The analysis page's suggestions (markets.analysis.summary) name an indicator, an operator and a value.
SUGGESTION_KINDS = {
    ("rsi", "crosses_above"): "rsi_crosses_above",
    ("rsi", "crosses_below"): "rsi_crosses_below",
    ("price", "crosses_above"): "crossing_up",
    ("price", "crosses_below"): "crossing_down",
    ("macd_histogram", "crosses_above"): "macd_cross_bullish",
    ("macd_histogram", "crosses_below"): "macd_cross_bearish",
}


def suggestion_fields(suggestion: dict) -> dict | None:
    """The form fields of the alert an analysis suggestion proposes (without the symbol); None if
    no condition kind says it."""
    condition = suggestion.get("condition") or {}
    kind = SUGGESTION_KINDS.get((condition.get("indicator"), condition.get("operator")))
    if kind is None:
        return None
    fields = {"kind": kind, "timeframe": condition.get("timeframe", "1m"), "frequency": Alert.Frequency.ONLY_ONCE}
    if "level" in kind_params(kind):
        fields["level"] = f"{condition['value']:.10g}"
    return fields
