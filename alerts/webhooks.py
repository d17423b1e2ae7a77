"""A webhook's POST: to the address that was checked, once, never following a redirect.

The host is resolved once by `streams.netguard`, which refuses inward addresses
the operator did not allow; the connection goes to the addresses it returned
(no second lookup), with the URL's host name in the Host header and, for
https, in SNI and the certificate check. A 3xx is an answer like any other: it
is reported, not followed. Every way of not getting an HTTP answer (refused,
reset, timeout, TLS, a reply that is not HTTP, a name that does not resolve)
reads the same, so the log cannot be used to map which ports answer.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from urllib.parse import urlsplit

from streams.netguard import address_allowed

REFUSED = "refused: private address"
COULD_NOT_CONNECT = "could not connect"
DEFAULT_PORTS = {"http": 80, "https": 443}

Addresses = tuple[tuple[int, tuple], ...]


class WebhookFailed(Exception):
    """No 2xx: the message for the log, the HTTP status if one came, and whether to retry."""

    def __init__(self, message: str, *, status: int | None = None, retry: bool = True):
        super().__init__(message)
        self.status, self.retry = status, retry


def open_socket(addresses: Addresses, timeout: float) -> socket.socket:
    """Return a TCP connection to the first of the checked addresses that answers."""
    failure: OSError = OSError("no address")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as error:
            sock.close()
            failure = error
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise failure


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to checked addresses, named by the URL's host."""

    def __init__(self, host: str, port: int, addresses: Addresses, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses, self.seconds = addresses, timeout

    def connect(self) -> None:
        self.sock = open_socket(self.addresses, self.seconds)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to checked addresses; SNI and the certificate check use the host."""

    def __init__(self, host: str, port: int, addresses: Addresses, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses, self.seconds = addresses, timeout

    def connect(self) -> None:
        sock = open_socket(self.addresses, self.seconds)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except OSError:
            sock.close()
            raise


def webhook_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to `url`; return the 2xx status, or raise WebhookFailed saying what happened."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except (KeyError, ValueError):
        raise WebhookFailed(COULD_NOT_CONNECT, retry=False) from None
    host = parts.hostname or ""
    verdict = address_allowed(host, port)
    if verdict.code == "private_address":
        raise WebhookFailed(REFUSED, retry=False)
    if not verdict.allowed:
        raise WebhookFailed(COULD_NOT_CONNECT)
    kind = PinnedHTTPSConnection if parts.scheme == "https" else PinnedHTTPConnection
    connection = kind(host, port, verdict.addresses, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException, ValueError):
        raise WebhookFailed(COULD_NOT_CONNECT) from None
    finally:
        connection.close()
    if 200 <= status < 300:
        return status
    # A redirect is not followed (it would carry the signed notice elsewhere), and a
    # 4xx other than "timeout" or "too many" will not get better by retrying.
    retry = status >= 500 or status in (408, 429)
    raise WebhookFailed(f"HTTP {status}", status=status, retry=retry)
