"""A browser socket opens only from this site's own origin: scheme, host and port, like CSRF."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from streams.live.compat import DataConsumer
from streams.live.presence import presence
from tests.support.web import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

PATHS = ["/ws/live/", "/ws/data/"]
# The site as a browser reaches it in these tests: http://127.0.0.1:8000.
SITE_HOST = "127.0.0.1:8000"

Open = Callable[..., Awaitable[WebsocketCommunicator | None]]


@pytest.fixture
async def handshake() -> AsyncIterator[Open]:
    """Return a function that opens a socket and returns it, or None when it was refused."""
    presence.reset()
    DataConsumer.connections.clear()
    opened: list[WebsocketCommunicator] = []

    async def open_socket(
        path: str,
        origin: str | None,
        *,
        user: Any = None,
        token: str | None = None,
        host: str | None = SITE_HOST,
        scheme: str = "ws",
        extra: tuple[tuple[bytes, bytes], ...] = (),
    ) -> WebsocketCommunicator | None:
        headers = [*extra] if host is None else [(b"host", host.encode()), *extra]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        if user is not None:
            headers.append(await database_sync_to_async(session_cookie)(user))
        url = f"{path}?token={token}" if token is not None else path
        socket = WebsocketCommunicator(application, url, headers=headers)
        # What uvicorn and Daphne put in the scope beside the headers.
        socket.scope.update(scheme=scheme, server=("127.0.0.1", 8000))
        opened.append(socket)
        connected, code = await socket.connect(timeout=3)
        if not connected:
            assert code == 1000, "refused at the handshake (HTTP 403), not opened and closed"
            return None
        return socket

    yield open_socket
    for socket in opened:
        with contextlib.suppress(Exception):
            await socket.disconnect()
    presence.reset()


async def assert_serves(socket: WebsocketCommunicator | None, path: str) -> None:
    """The socket opened and answers as its endpoint does."""
    assert socket is not None, f"{path} refused a socket it should have opened"
    if path == "/ws/live/":
        assert (await socket.receive_json_from(timeout=3))["type"] == "hello"
    else:
        await socket.send_json_to({"action": "stop_stream"})
        assert await socket.receive_json_from(timeout=3) == {"status": "stopped"}


@pytest.mark.parametrize("path", PATHS)
async def test_the_sites_own_origin_opens_a_socket(handshake: Open, owner: Any, path: str) -> None:
    await assert_serves(await handshake(path, "http://127.0.0.1:8000", user=owner), path)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",  # another service on the same host
        "http://localhost:1234",
        "http://127.0.0.1",  # the same host on port 80
        "http://localhost:8000",  # an allowed host, but not the one the page was served from
        "https://127.0.0.1:8000",  # the same host and port over another scheme
        "http://127.0.0.1:8000.evil.example",
        "null",
    ],
)
async def test_another_origin_of_the_same_machine_is_refused(
    handshake: Open, owner: Any, path: str, origin: str
) -> None:
    assert await handshake(path, origin, user=owner) is None


@pytest.mark.parametrize("path", PATHS)
async def test_a_secure_socket_takes_the_https_origin_only(
    handshake: Open, owner: Any, path: str
) -> None:
    assert await handshake(path, "http://127.0.0.1:8000", user=owner, scheme="wss") is None
    await assert_serves(
        await handshake(path, "https://127.0.0.1:8000", user=owner, scheme="wss"), path
    )


@pytest.mark.parametrize("path", PATHS)
async def test_a_host_header_outside_allowed_hosts_is_refused(
    handshake: Open, owner: Any, path: str
) -> None:
    """A page on a name that resolves to this server (DNS rebinding) is not this site."""
    rebound = await handshake(
        path, "http://evil.example:8000", user=owner, host="evil.example:8000"
    )
    assert rebound is None


@pytest.mark.parametrize("path", PATHS)
async def test_csrf_trusted_origins_open_sockets(
    handshake: Open, owner: Any, settings: Any, path: str
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://board.example.com", "https://*.example.org"]
    await assert_serves(await handshake(path, "https://board.example.com", user=owner), path)
    await assert_serves(await handshake(path, "https://eu.example.org", user=owner), path)
    assert await handshake(path, "http://board.example.com", user=owner) is None
    assert await handshake(path, "http://eu.example.org", user=owner) is None
    assert await handshake(path, "https://board.example.com:8443", user=owner) is None


@pytest.mark.parametrize("path", PATHS)
async def test_behind_an_https_proxy_the_proxys_scheme_counts(
    handshake: Open, owner: Any, settings: Any, path: str
) -> None:
    """TLS ends at the proxy: the socket is ws, the page https, as the proxy's header says."""
    settings.ALLOWED_HOSTS = ["pulse.example.com"]
    proxied = ((b"x-forwarded-proto", b"https"),)
    origin, host = "https://pulse.example.com", "pulse.example.com"
    assert await handshake(path, origin, user=owner, host=host, extra=proxied) is None
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    await assert_serves(await handshake(path, origin, user=owner, host=host, extra=proxied), path)
    http_page = await handshake(
        path, "http://pulse.example.com", user=owner, host=host, extra=proxied
    )
    assert http_page is None


@pytest.mark.parametrize("path", PATHS)
async def test_a_script_with_a_token_and_no_origin_connects(
    handshake: Open, owner_token: str, path: str
) -> None:
    await assert_serves(await handshake(path, None, token=owner_token), path)


@pytest.mark.parametrize("path", PATHS)
async def test_a_token_from_a_foreign_origin_is_refused(
    handshake: Open, owner_token: str, path: str
) -> None:
    """A page may not open a socket with a token it holds from another origin of the machine."""
    assert await handshake(path, "http://127.0.0.1:9999", token=owner_token) is None
    assert await handshake(path, "http://evil.example", token=owner_token) is None


@pytest.mark.parametrize("path", PATHS)
async def test_a_session_without_an_origin_is_refused(
    handshake: Open, owner: Any, path: str
) -> None:
    assert await handshake(path, None, user=owner) is None


async def test_the_network_demo_still_checks_the_port(
    handshake: Open, owner: Any, settings: Any
) -> None:
    """`ALLOWED_HOSTS = *` (the demo on every interface) answers any host, not any origin."""
    settings.ALLOWED_HOSTS = ["*"]
    phone = "127.0.0.2:8000"
    await assert_serves(
        await handshake("/ws/live/", f"http://{phone}", user=owner, host=phone), "/ws/live/"
    )
    for origin in ("http://127.0.0.2:9999", "http://evil.example"):
        assert await handshake("/ws/live/", origin, user=owner, host=phone) is None


async def test_without_a_host_header_the_servers_address_is_the_sites(
    handshake: Open, owner: Any
) -> None:
    """As Django rebuilds the host from the server's address when no Host header came."""
    await assert_serves(
        await handshake("/ws/live/", "http://127.0.0.1:8000", user=owner, host=None), "/ws/live/"
    )
    assert await handshake("/ws/live/", "http://127.0.0.1:9999", user=owner, host=None) is None
