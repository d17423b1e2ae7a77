"""HTTP clients for tests: a logged-in browser, a script with a token, JSON bodies, headers."""

from __future__ import annotations

from typing import Any

import orjson
from django.test import Client

ORIGIN = (b"origin", b"http://127.0.0.1")
# Every browser and WebSocket client sends Host; the page's origin is checked against it.
HOST = (b"host", b"127.0.0.1")
INGEST = "/api/streams/push.alice/samples"


def logged_in(user: Any, *, csrf: bool = False) -> Client:
    """Return a browser that `user` logged in with (checking CSRF tokens when `csrf`)."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def token_client(token: str) -> Client:
    """Return a script that sends `Authorization: Token <token>`."""
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def post_json(client: Client, url: str, body: Any) -> Any:
    """POST `body` as JSON (bytes as they are); return the response."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(url, data=raw, content_type="application/json")


def session_cookie(user: Any) -> tuple[bytes, bytes]:
    """Return the Cookie header of a browser that `user` logged in with."""
    return (b"cookie", f"sessionid={logged_in(user).cookies['sessionid'].value}".encode())
