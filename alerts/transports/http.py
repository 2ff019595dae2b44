"""HTTP to URLs users give (webhooks): the target is checked after DNS resolution, and the connection
goes to the address that was checked, with the original Host header and TLS server name, so that a
second lookup (DNS rebinding) cannot send the request somewhere else.

Loopback, private, link-local, multicast, reserved and unspecified addresses, IPv4 and IPv6 (IPv4
inside IPv6 too), are refused unless ``WEBHOOK_ALLOW_PRIVATE``. Redirects are not followed: a redirect
could point anywhere, and a receiver that moved answers 3xx, which is an error like any other.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import socket
import ssl
from urllib.parse import unquote, urlsplit, urlunsplit

import certifi
import httpx
from django.conf import settings

from alerts.transports import TransportError

SCHEMES = ("http", "https")
MAX_ANSWER = 64 * 1024  # bytes of an answer kept: enough for an error's text, never a flood
USER_AGENT = "Scalpaiboard-Webhooks/1.0"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Refused(Exception):
    """A target that must not be reached; its text says why."""


def url_refusal(url: str) -> str | None:
    """Why ``url`` may not be posted to (its scheme, its form, the addresses its host resolves to), or
    None. A host that does not resolve now is not refused: it is checked again at every send."""
    try:
        host, port = _target(url)
    except _Refused as refusal:
        return str(refusal)
    return host_refusal(host, port)


def host_refusal(host: str, port: int) -> str | None:
    """Why ``host`` may not be connected to (an address it resolves to is not public), or None; None
    too when it does not resolve now."""
    try:
        _check(host, _resolve(host, port))
    except _Refused as refusal:
        return str(refusal)
    except OSError:
        return None
    return None


def http_post(url: str, *, content: bytes, headers: dict, timeout: float = 10) -> httpx.Response:
    """POST ``content`` to ``url`` at an address its host resolved to and that was checked; the answer
    (its body cut at MAX_ANSWER). TransportError: permanent for a refused target, else transient."""
    try:
        host, port = _target(url)
        addresses = _resolve(host, port)
        _check(host, addresses)
    except _Refused as refusal:
        raise TransportError(str(refusal), permanent=True) from None
    except OSError as error:
        raise TransportError(f"cannot resolve {host}: {error.strerror or error}") from None
    for address in addresses[:-1]:  # the next address when one does not take connections
        try:
            return _post_to(address, url, content=content, headers=headers, timeout=timeout)
        except TransportError as error:
            if not isinstance(error.__cause__, httpx.ConnectError):
                raise
    return _post_to(addresses[-1], url, content=content, headers=headers, timeout=timeout)


def _target(url: str) -> tuple[str, int]:
    """The host and port of ``url``; _Refused when it is no http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in SCHEMES:
        raise _Refused("must be an http:// or https:// URL")
    if not parts.hostname:
        raise _Refused("must name a host, as in https://example.com/hook")
    try:
        port = parts.port
    except ValueError:
        raise _Refused("has a port that is not a number from 0 to 65535") from None
    return parts.hostname, port or (443 if parts.scheme.lower() == "https" else 80)


def _resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the resolver's order, each once."""
    if _literal(host) is not None:
        return [host]
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in found))


def _check(host: str, addresses: list[str]) -> None:
    """_Refused when any address is not public (unless WEBHOOK_ALLOW_PRIVATE)."""
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return
    for address in addresses:
        kind = address_kind(ipaddress.ip_address(address.split("%")[0]))
        if kind is not None:
            where = address if host == address else f"{host} resolves to {address}, which"
            raise _Refused(f"{where} is a {kind} address; webhooks may only go to public addresses")


def address_kind(ip: IPAddress) -> str | None:
    """What makes ``ip`` unreachable for webhooks ("loopback", "private", …), None for a public one.
    An IPv6 address carrying an IPv4 one (mapped, 6to4, Teredo) is judged by the IPv4 one too."""
    embedded = [ip.ipv4_mapped, ip.sixtofour, (ip.teredo or (None, None))[1]] if ip.version == 6 else []
    for candidate in [*(e for e in embedded if e is not None), ip]:  # the IPv4 one names the kind better
        for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
            if getattr(candidate, f"is_{kind}"):
                return kind.replace("_", "-")
        if not candidate.is_global:  # shared address space (100.64/10), documentation ranges…
            return "non-public"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


def _post_to(address: str, url: str, *, content: bytes, headers: dict, timeout: float) -> httpx.Response:
    """POST to ``url`` over a connection to ``address``: the URL's host goes in Host and in TLS' SNI."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), parts.hostname
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    headers = {"User-Agent": USER_AGENT, **headers, "Host": parts.netloc.rpartition("@")[2]}
    extensions = {"sni_hostname": host} if scheme == "https" and _literal(host) is None else {}
    if parts.username:  # https://user:password@host/: the credentials go in the header, not the netloc
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()
    try:
        with httpx.Client(timeout=timeout, verify=_tls(), trust_env=False, follow_redirects=False) as client:
            request = client.build_request("POST", target, content=content, headers=headers, extensions=extensions)
            return _answer(client.send(request, stream=True), request)
    except httpx.TimeoutException as error:
        raise TransportError(f"no answer from {host} within {timeout:g} s") from error
    except httpx.HTTPError as error:
        raise TransportError(f"cannot reach {host}: {error or type(error).__name__}") from error


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every send: building one loads the CA bundle (~20 ms). A client, and so a
    connection, per send all the same: a pooled connection to an address must not carry another host."""
    return ssl.create_default_context(cafile=certifi.where())


def _answer(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """``response`` with at most MAX_ANSWER bytes of its body read, the connection closed."""
    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= MAX_ANSWER:
                break
    finally:
        response.close()
    skip = {"content-encoding", "content-length", "transfer-encoding"}  # the body is decoded and cut
    headers = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in skip]
    return httpx.Response(response.status_code, headers=headers, content=body[:MAX_ANSWER], request=request)
