"""The webhook HTTP helper: targets refused after DNS resolution, the connection made to the address that
was checked (with the URL's host in Host and SNI), errors sorted into permanent and transient."""

from __future__ import annotations

import socket

import httpx
import pytest

from alerts.tests.webhook_receiver import Answer, WebhookReceiver
from alerts.transports import TransportError
from alerts.transports.http import MAX_ANSWER, http_post, url_refusal


@pytest.fixture
def private_refused(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False


def resolver(monkeypatch, name: str, *answers: list[str]) -> list[str]:
    """Resolve ``name`` to each of ``answers`` in turn (the last one from then on); other names as usual.
    Returns the list of names looked up, in order."""
    real, looked_up = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        looked_up.append(host)
        addresses = answers[min(len(looked_up), len(answers)) - 1]
        family = {True: socket.AF_INET6, False: socket.AF_INET}
        return [(family[":" in a], socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return looked_up


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- url_refusal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fd00::1]/hook", "private"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
    ],
)
def test_non_public_addresses_are_refused_naming_their_kind(private_refused, url, kind):
    assert f"is a {kind} address; webhooks may only go to public addresses" in url_refusal(url)


def test_a_hostname_resolving_to_loopback_is_refused(private_refused):
    refusal = url_refusal("http://localhost:8000/hook")
    assert refusal.startswith("localhost resolves to ")
    assert "loopback address" in refusal


def test_one_private_address_among_public_ones_is_enough_to_refuse(private_refused, monkeypatch):
    resolver(monkeypatch, "hooks.example", ["93.184.216.34", "10.0.0.7"])
    assert url_refusal("https://hooks.example/hook") == (
        "hooks.example resolves to 10.0.0.7, which is a private address; webhooks may only go to public addresses"
    )


def test_a_public_address_is_accepted(private_refused, monkeypatch):
    resolver(monkeypatch, "hooks.example", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
    assert url_refusal("https://hooks.example/hook?x=1") is None


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)", "example.com"])
def test_schemes_other_than_http_and_https_are_refused(url):
    assert url_refusal(url) == "must be an http:// or https:// URL"


def test_a_url_without_a_host_is_refused():
    assert url_refusal("https:///hook") == "must name a host, as in https://example.com/hook"


def test_a_host_that_does_not_resolve_yet_is_not_refused(private_refused, monkeypatch):
    def unresolvable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    assert url_refusal("https://not-yet.example/hook") is None


def test_webhook_allow_private_accepts_loopback(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert url_refusal("http://localhost:8000/hook") is None


# --- http_post ----------------------------------------------------------------------------------


def test_a_refused_target_is_a_permanent_error_and_nothing_is_sent(webhook_receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(TransportError) as raised:
        http_post(webhook_receiver.url, content=b"{}", headers={})
    assert raised.value.permanent
    assert "127.0.0.1 is a loopback address" in raised.value.message
    assert webhook_receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(webhook_receiver, monkeypatch):
    looked_up = resolver(monkeypatch, "hooks.example", ["127.0.0.1"], ["192.0.2.66"])  # a rebinding answer
    response = http_post(f"http://hooks.example:{webhook_receiver.port}/in?x=1", content=b"hi", headers={})
    assert response.status_code == 200
    (received,) = webhook_receiver.requests
    assert received.headers["host"] == f"hooks.example:{webhook_receiver.port}"
    assert received.path == "/in?x=1"
    assert looked_up == ["hooks.example"]  # one lookup: the second answer was never asked for


def test_https_connects_to_the_checked_address_with_the_host_as_tls_server_name(private_refused, monkeypatch):
    resolver(monkeypatch, "hooks.example", ["93.184.216.34"])
    sent = []

    def send(client, request, **kwargs):
        sent.append(request)
        raise httpx.ConnectError("stopped before the network", request=request)

    monkeypatch.setattr(httpx.Client, "send", send)
    with pytest.raises(TransportError):
        http_post("https://hooks.example/hook", content=b"{}", headers={})
    (request,) = sent
    assert str(request.url) == "https://93.184.216.34/hook"
    assert request.headers["Host"] == "hooks.example"
    assert request.extensions["sni_hostname"] == "hooks.example"


def test_the_next_address_is_tried_when_one_refuses_connections(webhook_receiver, monkeypatch):
    resolver(monkeypatch, "hooks.example", ["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2
    response = http_post(f"http://hooks.example:{webhook_receiver.port}/", content=b"hi", headers={})
    assert response.status_code == 200
    assert len(webhook_receiver.requests) == 1


def test_a_timeout_is_a_transient_error(webhook_receiver):
    webhook_receiver.delay = 1.0
    with pytest.raises(TransportError) as raised:
        http_post(webhook_receiver.url, content=b"{}", headers={}, timeout=0.2)
    assert not raised.value.permanent
    assert raised.value.message == "no answer from 127.0.0.1 within 0.2 s"


def test_a_refused_connection_is_a_transient_error(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(TransportError) as raised:
        http_post(f"http://127.0.0.1:{free_port()}/", content=b"{}", headers={})
    assert not raised.value.permanent
    assert raised.value.message.startswith("cannot reach 127.0.0.1: ")


def test_a_host_that_does_not_resolve_is_a_transient_error(monkeypatch):
    def unresolvable(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unresolvable)
    with pytest.raises(TransportError) as raised:
        http_post("https://gone.example/hook", content=b"{}", headers={})
    assert not raised.value.permanent
    assert raised.value.message == "cannot resolve gone.example: Name or service not known"


def test_an_answer_body_is_kept_up_to_the_limit(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with WebhookReceiver([Answer(500, body=b"x" * (4 * MAX_ANSWER))]) as receiver:
        response = http_post(receiver.url, content=b"{}", headers={})
    assert response.status_code == 500
    assert len(response.content) == MAX_ANSWER


def test_credentials_in_the_url_are_sent_as_basic_auth(webhook_receiver):
    http_post(f"http://user:p%40ss@127.0.0.1:{webhook_receiver.port}/", content=b"{}", headers={})
    assert webhook_receiver.requests[0].headers["authorization"] == "Basic dXNlcjpwQHNz"  # user:p@ss
