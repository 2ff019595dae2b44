"""A local HTTP receiver for webhooks: records every request (method, path, headers, body, time) and
answers from a script (statuses in turn, a delay, extra headers), for the tests and the benchmark.

``WebhookReceiver`` serves from a thread of its own (``start``/``close``, or a ``with`` block) and needs
no pytest; ``python -m alerts.tests.webhook_receiver --port N --record requests.jsonl`` runs it alone,
printing ``listening <port>`` once it accepts connections and appending each request as a JSON line.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class ReceivedRequest:
    """One request as it arrived."""

    at: float  # wall clock, when its body was read
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int = 0  # what it was answered

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def as_json(self) -> dict:
        """For the record file: the body as text when it is UTF-8, else base64."""
        record = asdict(self)
        try:
            record["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            record["body"], record["body_base64"] = None, base64.b64encode(self.body).decode()
        return record


@dataclass
class Answer:
    """A scripted answer: its status, extra headers (say Retry-After) and body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class WebhookReceiver:
    """Receives webhooks on 127.0.0.1. ``answers``: statuses (or Answers) for the next requests, in turn;
    once spent, ``default`` answers. ``delay``: seconds each request waits before its answer (a slow
    receiver). ``record_to``: a file each request is appended to as a JSON line."""

    def __init__(
        self,
        answers: list[int | Answer] | None = None,
        *,
        delay: float = 0.0,
        default: int | Answer = 200,
        record_to: str | Path | None = None,
    ):
        self.answers: list[Answer] = [self._answer(a) for a in answers or []]
        self.delay = delay
        self.default = self._answer(default)
        self.record_to = Path(record_to) if record_to else None
        self.requests: list[ReceivedRequest] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def _answer(answer: int | Answer) -> Answer:
        return answer if isinstance(answer, Answer) else Answer(answer)

    # --- the script -----------------------------------------------------------------------------

    def script(self, *answers: int | Answer) -> None:
        """Answer the next requests with these, in turn (after any still scripted)."""
        with self._changed:
            self.answers += [self._answer(a) for a in answers]

    def _next_answer(self) -> Answer:
        with self._changed:
            return self.answers.pop(0) if self.answers else self.default

    # --- what it received -----------------------------------------------------------------------

    def _record(self, request: ReceivedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            if self.record_to is not None:
                with self.record_to.open("a") as file:
                    file.write(json.dumps(request.as_json()) + "\n")
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """The requests once at least ``count`` arrived; TimeoutError naming how many did after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} requests arrived in {timeout} s")
            return list(self.requests)

    # --- running --------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> WebhookReceiver:
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: close() waits for the loop to notice, and tests close a receiver each.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        self._thread = threading.Thread(target=serve, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The receiver's root URL; any path under it is received the same way."""
        return f"http://127.0.0.1:{self.port}/"


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = ReceivedRequest(time.time(), self.command, self.path, headers, body)
            answer = receiver._next_answer()
            request.status = answer.status
            receiver._record(request)
            if receiver.delay:
                time.sleep(receiver.delay)
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting (a timeout)
                self.close_connection = True

        do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = handle_any

        def log_message(self, format: str, *args) -> None:  # quiet: the tests read the records
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--record", help="append each request to this file as a JSON line")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--status", type=int, default=200, help="the status every request is answered")
    options = parser.parse_args()
    receiver = WebhookReceiver(delay=options.delay, default=options.status, record_to=options.record)
    receiver.start(port=options.port)
    print(f"listening {receiver.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        receiver.close()


if __name__ == "__main__":
    main()
