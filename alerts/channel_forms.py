"""The channel forms of Settings → Notifications: one form per channel kind, gathering what the user
typed into the API's channel body (``ChannelForm.channel_data``). ``alerts.channels`` validates it, and
its errors (``ChannelInvalid.errors``, keyed by the API's field names) land on the fields that hold
them (``ChannelForm.add_service_errors``), so that the page and the API say the same things.
"""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from django import forms

from alerts.messages import DEFAULT_MESSAGE, PLACEHOLDERS
from alerts.models import Channel

Kind = Channel.Kind

KIND_LABELS = {Kind.EMAIL: "Email", Kind.TELEGRAM: "Telegram", Kind.WEBHOOK: "Webhook", Kind.APPRISE: "Apprise"}
# The field that holds each kind's target, as the API names it.
TARGET_FIELDS = {Kind.EMAIL: "address", Kind.TELEGRAM: "chat_id", Kind.WEBHOOK: "url", Kind.APPRISE: "url"}
QUIET_KINDS = (Kind.EMAIL, Kind.TELEGRAM, Kind.APPRISE)  # a webhook's receiver decides when to ring
APPRISE_DOCS = "https://github.com/caronc/apprise/wiki#notification-services"
BODY_HELP = (
    "Empty: the alert's message. Sent as application/json when it renders to JSON, else text/plain. "
    "Placeholders: " + ", ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS) + "."
)
# The API's error keys for quiet hours, and the form fields they belong to.
QUIET_FIELDS = {
    "quiet_hours": "quiet_start",
    "quiet_hours.start": "quiet_start",
    "quiet_hours.end": "quiet_end",
    "quiet_hours.timezone": "quiet_timezone",
}


@cache
def timezone_choices() -> list[tuple[str, str]]:
    """Every IANA time zone, UTC first."""
    zones = sorted(zone for zone in available_timezones() if "/" in zone and not zone.startswith(("Etc/", "SystemV/")))
    return [("UTC", "UTC"), *((zone, zone.replace("_", " ")) for zone in zones)]


def target_field(kind: str) -> forms.Field:
    """The box for where a channel of ``kind`` sends (validated by alerts.channels, not here)."""
    if kind == Kind.EMAIL:
        attrs = {"placeholder": "you@example.com", "autocomplete": "email", "inputmode": "email"}
        return forms.CharField(label="Email address", max_length=254, widget=forms.TextInput(attrs=attrs))
    if kind == Kind.TELEGRAM:
        attrs = {"placeholder": "123456789", "inputmode": "numeric", "autocomplete": "off"}
        help_text = "Your numeric chat id (a group's starts with -). Connecting with the button above finds it for you."
        return forms.CharField(label="Chat id", max_length=32, help_text=help_text, widget=forms.TextInput(attrs=attrs))
    if kind == Kind.WEBHOOK:
        attrs = {"placeholder": "https://example.com/hooks/alerts", "autocomplete": "off", "spellcheck": "false"}
        return forms.CharField(label="URL", max_length=2000, help_text="http:// or https://; we POST each alert to it.",
                               widget=forms.TextInput(attrs=attrs))  # fmt: skip
    attrs = {"placeholder": "discord://webhook_id/webhook_token", "autocomplete": "off", "spellcheck": "false"}
    help_text = (
        "An Apprise URL: Discord, Slack, ntfy, Pushover, Matrix and more. "
        f'<a href="{APPRISE_DOCS}" target="_blank" rel="noopener">The URL of each service</a>.'
    )
    return forms.CharField(
        label="Apprise URL", max_length=2000, help_text=help_text, widget=forms.TextInput(attrs=attrs)
    )


class ChannelForm(forms.Form):
    """A channel of one kind: its name, target, body (webhooks) and quiet hours (other kinds)."""

    name = forms.CharField(
        required=False, max_length=100, help_text="Shown in the alert form's picker; the target when empty."
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.target_name = TARGET_FIELDS[kind]
        self.fields[self.target_name] = target_field(kind)
        if kind == Kind.WEBHOOK:
            self.fields["body"] = forms.CharField(
                label="Body template", required=False, max_length=4000, help_text=BODY_HELP,
                widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": DEFAULT_MESSAGE}),
            )  # fmt: skip
        if kind in QUIET_KINDS:
            time_input = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            self.fields["quiet_start"] = forms.CharField(label="From", required=False, widget=time_input)
            self.fields["quiet_end"] = forms.CharField(label="Until", required=False, widget=time_input)
            self.fields["quiet_timezone"] = forms.ChoiceField(
                label="Time zone", required=False, choices=timezone_choices(), initial="UTC",
                widget=forms.Select(attrs={"data-local-timezone": ""}),
            )  # fmt: skip

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def has_quiet_hours(self) -> bool:
        return self.kind in QUIET_KINDS

    @property
    def main_fields(self) -> list[forms.BoundField]:
        """Name, target and body: the fields outside the quiet hours' fieldset."""
        return [field for field in self if not field.name.startswith("quiet_")]

    @property
    def quiet_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("quiet_start", "quiet_end", "quiet_timezone")] if self.has_quiet_hours else []

    def channel_data(self) -> dict:
        """What the user typed, in the API's channel body (without ``kind``)."""
        data = self.cleaned_data
        result = {"name": data.get("name", "").strip(), self.target_name: data[self.target_name].strip()}
        if self.kind == Kind.WEBHOOK:
            result["body"] = data.get("body", "")
        if self.has_quiet_hours:
            result["quiet_hours"] = self._quiet_hours()
        return result

    def _quiet_hours(self) -> dict | None:
        """None when both times are empty (none, or cleared); else as typed, for the service to check."""
        start, end = self.cleaned_data.get("quiet_start", ""), self.cleaned_data.get("quiet_end", "")
        if not start and not end:
            return None
        return {"start": start, "end": end, "timezone": self.cleaned_data.get("quiet_timezone") or "UTC"}

    def add_service_errors(self, errors: dict[str, list[str]], detail: str = "") -> None:
        """Put the service's errors on the fields that hold them; the rest above the form."""
        for key, messages in errors.items():
            field = QUIET_FIELDS.get(key, key) if self.has_quiet_hours else key
            field = field if field in self.fields else None
            prefix = "" if field or key in ("detail", "non_field_errors") else f"{key}: "
            for message in messages if isinstance(messages, list) else [messages]:
                self.add_error(field, f"{prefix}{message}")
        if not errors and detail:
            self.add_error(None, detail)


def channel_initial(channel: Channel) -> dict:
    """The edit form's initial values for ``channel``."""
    initial = {"name": channel.name, TARGET_FIELDS[channel.kind]: channel.target, "body": channel.body}
    if channel.quiet_start is not None:
        initial["quiet_start"] = channel.quiet_start.strftime("%H:%M")
        initial["quiet_end"] = channel.quiet_end.strftime("%H:%M") if channel.quiet_end else ""
        initial["quiet_timezone"] = channel.quiet_timezone or "UTC"
    return initial


def channel_label(channel: Channel) -> str:
    """``Email · me@example.com`` or the channel's name."""
    return channel.name or f"{KIND_LABELS[channel.kind]} · {channel.target}"
