"""What the OpenAPI schema says about notification channels and deliveries: a channel's body for each
kind (a ``oneOf`` on ``kind``), the fields an edit takes, and example bodies."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

from alerts.api.docs import one_of_values
from alerts.channels import MAX_LENGTH
from alerts.transports.telegram import CHAT_ID

HH_MM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "22:00"}
QUIET_HOURS = {
    "type": "object",
    "nullable": True,
    "description": "Deliveries inside these hours are held and sent as one digest when they end, unless the alert "
    "is urgent; null: none. Across midnight when end < start.",
    "properties": {
        "start": HH_MM,
        "end": {**HH_MM, "example": "07:00"},
        "timezone": {"type": "string", "minLength": 1, "maxLength": 64, "description": "An IANA name: Europe/Paris."},
    },
    "required": ["start", "end", "timezone"],
    "additionalProperties": False,
}


def _text(name: str, description: str, **extra) -> dict:
    return {"type": "string", "maxLength": MAX_LENGTH[name], "description": description, **extra}


# whsec_ + base64 of 16 bytes or more: five groups of four characters and a padded end, or more groups.
B64 = "[A-Za-z0-9+/]"
PADDED = f"{B64}{{2}}==|{B64}{{3}}="
SECRET_PATTERN = f"^whsec_(?:{B64}{{4}}){{5}}(?:(?:{B64}{{4}})+(?:{PADDED})?|{PADDED})$"
NAME = _text("name", "A label for pickers; empty: the target.")
ENABLED = {"type": "boolean", "default": True, "description": "false: no deliveries; true clears disabled_reason."}
KIND_PROPERTIES = {
    "email": {"address": _text("address", "The address to send to.", format="email")},
    "telegram": {
        "chat_id": _text(
            "chat_id",
            "A numeric chat id (negative for groups) or a public channel's @name; the connect flow "
            "(POST /api/notifications/telegram/connect) finds yours.",
            pattern=f"^(?:{CHAT_ID.pattern})$",
        )
    },
    "webhook": {
        "url": _text(
            "url", "An http(s) URL on a public address (private ones need WEBHOOK_ALLOW_PRIVATE).", format="uri"
        ),
        "secret": _text(
            "secret",
            "whsec_ + the base64 of at least 16 bytes, the Standard Webhooks signing key; left out: one is "
            "generated, shown once in the create answer.",
            pattern=SECRET_PATTERN,
        ),
        "body": _text(
            "body",
            "The request body, a template with the alert message's {{placeholders}} (sent as application/json "
            "when it renders to JSON); empty: the alert's message.",
        ),
    },
    "apprise": {"url": _text("url", "An Apprise URL: discord://…, slack://…, ntfy://…, pover://…", minLength=1)},
}


def _kind_body(kind: str) -> dict:
    quiet = {} if kind == "webhook" else {"quiet_hours": QUIET_HOURS}
    target = next(iter(KIND_PROPERTIES[kind]))
    return {
        "type": "object",
        "title": kind,
        "properties": {
            "kind": one_of_values([kind]),
            "name": NAME,
            **KIND_PROPERTIES[kind],
            "enabled": ENABLED,
            **quiet,
        },
        "required": ["kind", target],
        "additionalProperties": False,
    }


CHANNEL_CREATE = {"oneOf": [_kind_body(kind) for kind in KIND_PROPERTIES]}
CHANNEL_EDIT = {
    "type": "object",
    "description": "The fields to change, those of the channel's kind (kind itself cannot change).",
    "properties": {
        "name": NAME,
        "enabled": ENABLED,
        "quiet_hours": QUIET_HOURS,
        **{name: schema for fields in KIND_PROPERTIES.values() for name, schema in fields.items()},
    },
    "additionalProperties": False,
}

CREATE = """\
Add a channel: where your alerts' firings are delivered besides the bell (each alert names its channels in
`channels`). One of:

- `{"kind": "email", "address": "…"}`: plain text and HTML, from DEFAULT_FROM_EMAIL.
- `{"kind": "telegram", "chat_id": "…"}`: by the bot of TELEGRAM_BOT_TOKEN; POST /api/notifications/telegram/connect
  links your chat without typing its id.
- `{"kind": "webhook", "url": "…", "secret"?: "whsec_…", "body"?: "<template>"}`: a POST signed as Standard
  Webhooks say (headers `webhook-id`, `webhook-timestamp`, `webhook-signature`). The secret is generated when left
  out and is in this answer only: keep it to verify signatures. No quiet hours.
- `{"kind": "apprise", "url": "discord://…"}`: Discord, Slack, ntfy, Pushover, Matrix and more through Apprise.

Every kind takes `name`, `enabled` and (but webhooks) `quiet_hours`. A refused channel is a 400 naming each field
with what is allowed."""

TEST = """\
Send a test message to the channel now and answer how it went: `ok`, the `error` the service gave, whether it is
`permanent` (the address, chat or URL cannot work) and the time it took. A failure here does not disable the
channel. Limited to RATE_LIMIT_NOTIFY_TEST_RPM a minute per user (it sends a real message)."""

DELIVERIES = """\
Your delivery log, newest first: each firing of an alert to each of its channels, with its state (`pending`,
held by quiet hours or paced; `sending`; `sent`; `failed`, retrying at `next_attempt_at`; `dead`), attempts,
the last error and the latency from the firing to the hand-off."""

REPLAY = """\
Send the delivery's firing again to its channel: a new delivery (`replay_of` the first one) with the same
`webhook_id`, so that a webhook receiver that already has it can drop it."""

CONNECT = """\
A one-time code (valid 15 minutes) and the link that opens the bot's chat with it: sending `/start <code>` there
(the link does) adds, or re-enables, your Telegram channel for that chat. 503 when the server has no bot
(TELEGRAM_BOT_TOKEN)."""

CHANNEL_EXAMPLES = [
    OpenApiExample("email", value={"kind": "email", "address": "trader@example.com"}, request_only=True),
    OpenApiExample(
        "telegram with quiet hours",
        value={
            "kind": "telegram",
            "name": "phone",
            "chat_id": "123456789",
            "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"},
        },
        request_only=True,
    ),
    OpenApiExample(
        "webhook with a JSON body",
        value={
            "kind": "webhook",
            "url": "https://hooks.example.com/alerts",
            "body": '{"symbol": "{{symbol}}", "price": {{price}}, "text": "{{condition}}"}',
        },
        request_only=True,
    ),
    OpenApiExample("apprise (ntfy)", value={"kind": "apprise", "url": "ntfy://my-alerts"}, request_only=True),
]
