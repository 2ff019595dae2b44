"""A local SMTP server (aiosmtpd) that records the mail it accepts, and refuses on script: a recipient
(``refuse("a@b", "550 5.1.1 …")``) or the next messages' DATA (``refuse_data("451 …")``).

``SmtpServer`` needs no pytest; ``python -m alerts.tests.smtp_server --port N`` runs it alone, printing
``listening <port>`` and each message's sender, recipients and subject as a JSON line.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message, parsed (headers decoded, parts reachable with ``get_body``)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)


class Recorder:
    """aiosmtpd's handler: the SMTP answers on script, and what was accepted."""

    def __init__(self, on_mail=None):
        self.mails: list[ReceivedMail] = []
        self.refused_recipients: dict[str, str] = {}
        self.data_answers: list[str] = []
        self.on_mail = on_mail
        self._arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.refused_recipients.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answers:
            return self.data_answers.pop(0)
        mail = ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content)
        with self._arrived:
            self.mails.append(mail)
            self._arrived.notify_all()
        if self.on_mail is not None:
            self.on_mail(mail)
        return "250 Message accepted for delivery"


class SmtpServer(Controller):
    """An SMTP server on 127.0.0.1 on a free port (``port``), served from a thread (``start``/``stop``)."""

    def __init__(self, *, on_mail=None, port: int = 0):
        super().__init__(Recorder(on_mail), hostname="127.0.0.1", port=port)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]  # port 0 asked for a free one: which?
        super()._trigger_server()

    @property
    def mails(self) -> list[ReceivedMail]:
        return self.handler.mails

    def refuse(self, address: str, answer: str = "550 5.1.1 <{}>: Recipient address rejected: User unknown") -> None:
        """Refuse ``address`` at RCPT TO with ``answer`` (its code decides: 5xx for good, 4xx for now)."""
        self.handler.refused_recipients[address.lower()] = answer.format(address)

    def refuse_data(self, *answers: str) -> None:
        """Answer the next messages' DATA with these (e.g. "451 4.3.0 Try again later")."""
        self.handler.data_answers.extend(answers)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """The mails once at least ``count`` arrived; TimeoutError after ``timeout``."""
        with self.handler._arrived:
            if not self.handler._arrived.wait_for(lambda: len(self.mails) >= count, timeout):
                raise TimeoutError(f"{len(self.mails)} of {count} mails arrived in {timeout} s")
            return list(self.mails)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()

    def printed(mail: ReceivedMail) -> None:
        summary = {"from": mail.mail_from, "to": mail.rcpt_tos, "subject": mail.message["Subject"]}
        print(json.dumps(summary), flush=True)

    server = SmtpServer(on_mail=printed, port=options.port)
    server.start()
    print(f"listening {server.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
