"""Email through a real SMTP server (aiosmtpd): the headers, both parts, the message rendered and
escaped, and the server's answers sorted into permanent and transient."""

from __future__ import annotations

import socket

import pytest

from alerts.models import Channel
from alerts.transports import Message, TransportError, transport_for
from alerts.transports.email import TRANSPORT, EmailTransport, email_refusal

MESSAGE = Message(
    subject="BTC alert",
    text="BTC: price crossing 100000 (1m) at 100012.5\nNote: take profit",
    webhook_id="msg_77",
    link="https://board.example/alerts/3",
)


def mailbox(address: str = "trader@example.com") -> Channel:
    return Channel(kind="email", address=address)


def test_the_transport_of_email_channels_is_this_one():
    assert transport_for("email") is TRANSPORT


def test_the_mail_has_the_sender_recipient_subject_and_auto_submitted_headers(smtp_server, settings):
    settings.DEFAULT_FROM_EMAIL = "Scalpaiboard <alerts@board.example>"
    TRANSPORT.send(mailbox(), MESSAGE)
    (mail,) = smtp_server.mails
    assert mail.mail_from == "alerts@board.example"
    assert mail.rcpt_tos == ["trader@example.com"]
    message = mail.message
    assert message["From"] == "Scalpaiboard <alerts@board.example>"
    assert message["To"] == "trader@example.com"
    assert message["Subject"] == "BTC alert"
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_mail_has_a_plain_text_part_and_an_html_part_with_the_message(smtp_server):
    TRANSPORT.send(mailbox(), MESSAGE)
    message = smtp_server.mails[0].message
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain.get_content().replace("\r\n", "\n") == (
        "BTC: price crossing 100000 (1m) at 100012.5\nNote: take profit\n\n"
        "Open the alert: https://board.example/alerts/3\n"
    )
    assert "<p><strong>BTC alert</strong></p>" in html.get_content()
    assert "BTC: price crossing 100000 (1m) at 100012.5<br>Note: take profit" in html.get_content()
    assert '<a href="https://board.example/alerts/3">Open the alert</a>' in html.get_content()


def test_user_text_is_escaped_in_the_html_part_and_left_alone_in_the_plain_one(smtp_server):
    TRANSPORT.send(mailbox(), Message(subject="<i>A</i> & B", text='<script>alert("x")</script> & co'))
    message = smtp_server.mails[0].message
    assert message["Subject"] == "<i>A</i> & B"
    html = message.get_body(("html",)).get_content()
    assert "<strong>&lt;i&gt;A&lt;/i&gt; &amp; B</strong>" in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    assert "<script>" not in html
    assert message.get_body(("plain",)).get_content().rstrip() == '<script>alert("x")</script> & co'


def test_a_retry_carries_the_same_message_id(smtp_server):
    TRANSPORT.send(mailbox(), MESSAGE)
    TRANSPORT.send(mailbox(), MESSAGE)
    first, second = (m.message["Message-ID"] for m in smtp_server.mails)
    assert first == second
    assert first.startswith("<msg_77.alert@")


def test_a_subject_with_line_breaks_is_one_line(smtp_server):
    TRANSPORT.send(mailbox(), Message(subject="BTC\r\nBcc: victim@example.com", text="x"))
    message = smtp_server.mails[0].message
    assert message["Subject"] == "BTC Bcc: victim@example.com"
    assert message["Bcc"] is None


def test_a_recipient_refused_with_a_5xx_is_permanent(smtp_server):
    smtp_server.refuse("gone@example.com")
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(mailbox("gone@example.com"), MESSAGE)
    assert raised.value.permanent
    assert raised.value.message == (
        "the mail server refused gone@example.com: 550 5.1.1 <gone@example.com>: Recipient address rejected: "
        "User unknown"
    )


def test_a_recipient_refused_with_a_4xx_is_transient(smtp_server):
    smtp_server.refuse("full@example.com", "452 4.2.2 Mailbox full")
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(mailbox("full@example.com"), MESSAGE)
    assert not raised.value.permanent


@pytest.mark.parametrize("answer", ["451 4.3.0 Try again later", "554 5.7.1 Message rejected"])
def test_a_refused_message_is_transient(smtp_server, answer):
    smtp_server.refuse_data(answer)
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(mailbox(), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message == f"the mail server answered {answer}"


def test_a_mail_server_that_refuses_connections_is_transient(smtp_server, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = closed.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(TransportError) as raised:
            TRANSPORT.send(mailbox(), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message == "cannot reach the mail server: [Errno 111] Connection refused"


def test_a_mail_server_that_does_not_answer_times_out_as_transient(settings):
    with socket.socket() as silent:  # accepts connections (the kernel does) and never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", silent.getsockname()[1]
        with pytest.raises(TransportError) as raised:
            EmailTransport(timeout=0.2).send(mailbox(), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message == "cannot reach the mail server: Connection unexpectedly closed: timed out"


@pytest.mark.parametrize("value", ["trader@example.com", "a.b+alerts@sub.example.org"])
def test_email_addresses_are_accepted(value):
    assert email_refusal(value) is None


@pytest.mark.parametrize("value", ["", "trader", "trader@", "@example.com", "a b@example.com", None, 42])
def test_malformed_addresses_are_refused_saying_what_is_allowed(value):
    assert email_refusal(value) == "must be an email address such as name@example.com"
