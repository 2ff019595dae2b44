"""Email through the SMTP server EMAIL_URL configures: a plain text part and an HTML part (the user's
text escaped), from DEFAULT_FROM_EMAIL, marked ``Auto-Submitted: auto-generated`` so that mail robots
do not answer it.

The recipient refused with a 5xx is permanent (the address does not exist); 4xx answers, refused or
dropped connections and timeouts are transient; so is any other refusal (the sender, the message),
which is the server's or the operator's to fix, not a reason to disable the user's channel.
"""

from __future__ import annotations

import smtplib
import socket

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from alerts.models import Channel
from alerts.transports import Message, Transport, TransportError

TIMEOUT = 10.0


def email_refusal(value: object) -> str | None:
    """Why ``value`` is no address mail can be sent to, or None."""
    try:
        if not isinstance(value, str):
            raise ValidationError("not text")
        validate_email(value)
    except ValidationError:
        return "must be an email address such as name@example.com"
    return None


def email_message(channel: Channel, message: Message) -> EmailMultiAlternatives:
    """The mail for ``message`` to ``channel``'s address, both parts, headers set."""
    mail = EmailMultiAlternatives(
        subject=" ".join(message.subject.split()),  # a header: no line breaks
        body=email_text(message),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[channel.address],
        headers={"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    if message.webhook_id:  # the same on a retry: a mail server or client can drop the repeat
        mail.extra_headers["Message-ID"] = f"<{message.webhook_id}.alert@{DNS_NAME}>"
    mail.attach_alternative(email_html(message), "text/html")
    return mail


def email_text(message: Message) -> str:
    """The plain text part."""
    link = f"\n\nOpen the alert: {message.link}" if message.link else ""
    return f"{message.text}{link}\n"


def email_html(message: Message) -> str:
    """The HTML part: every piece of user text escaped."""
    link = format_html('<p><a href="{}">Open the alert</a></p>', message.link) if message.link else ""
    return format_html(
        "<!doctype html><html><body><p><strong>{}</strong></p><p>{}</p>{}</body></html>",
        message.subject,
        format_html_join(mark_safe("<br>"), "{}", ((line,) for line in message.text.splitlines())),
        link,
    )


class EmailTransport(Transport):
    """Sends messages to a channel's address through Django's configured mail backend."""

    kind = "email"

    def __init__(self, timeout: float = TIMEOUT):
        self.timeout = timeout

    def send(self, channel: Channel, message: Message) -> None:
        mail = email_message(channel, message)
        try:
            with get_connection(timeout=self.timeout) as connection:
                connection.send_messages([mail])
        except smtplib.SMTPRecipientsRefused as refused:
            code, answer = next(iter(refused.recipients.values()))
            said = f"the mail server refused {channel.address}: {code} {_text(answer)}"
            raise TransportError(said, permanent=500 <= code < 600) from None
        except smtplib.SMTPResponseException as error:
            raise TransportError(f"the mail server answered {error.smtp_code} {_text(error.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as error:  # disconnected, refused, timed out, unreachable
            raise TransportError(f"cannot reach the mail server: {_reason(error)}") from None


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _reason(error: Exception) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "no answer within the timeout"
    return str(error) or type(error).__name__


TRANSPORT = EmailTransport()
