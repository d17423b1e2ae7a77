"""Every frame a test receives from /ws/live/ must match the AsyncAPI document.

A pytest plugin (registered in pyproject.toml): it wraps the two clients the
tests use, Channels' `WebsocketCommunicator` (consumer tests) and the
`websockets` client (end-to-end tests), so a frame the server sends that the
published document does not describe fails the test that received it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jsonschema
import orjson
import pytest
from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import ClientConnection

LIVE_PATH = "/ws/live/"


@functools.cache
def asyncapi() -> dict[str, Any]:
    from streams.live.asyncapi import asyncapi_document

    return asyncapi_document("test", "testserver")


@functools.cache
def frame_validators() -> dict[str, jsonschema.protocols.Validator]:
    """Return a validator per server frame type, each able to follow the document's $refs."""
    document = asyncapi()
    validators = {}
    for key, message in document["channels"]["live"]["messages"].items():
        if key.startswith("server."):
            schema = {**message["payload"], "components": document["components"]}
            validators[message["name"]] = jsonschema.Draft202012Validator(schema)
    return validators


def frame_check(frame: Any) -> None:
    """Fail unless `frame` (text or parsed) is a server frame the AsyncAPI document describes."""
    if isinstance(frame, str | bytes):
        frame = orjson.loads(frame)
    assert isinstance(frame, dict), f"a frame that is not an object: {frame!r}"
    validator = frame_validators().get(frame.get("type"))  # type: ignore[arg-type]
    assert validator is not None, f"a frame of a type AsyncAPI does not list: {frame!r}"
    errors = sorted(validator.iter_errors(frame), key=lambda error: list(error.path))
    assert not errors, f"frame {str(frame)[:300]} breaks AsyncAPI: {errors[0].message}"


@pytest.fixture(autouse=True)
def live_frames_checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Check every text frame a test receives from /ws/live/ against the document."""
    communicator_receive = WebsocketCommunicator.receive_from
    connection_receive = ClientConnection.recv

    async def receive_from(self: WebsocketCommunicator, timeout: float = 1) -> Any:
        received = await communicator_receive(self, timeout)
        if isinstance(received, str) and self.scope["path"].startswith(LIVE_PATH):
            frame_check(received)
        return received

    async def recv(self: ClientConnection, *args: Any, **kwargs: Any) -> Any:
        received = await connection_receive(self, *args, **kwargs)
        if isinstance(received, str) and self.request and self.request.path.startswith(LIVE_PATH):
            frame_check(received)
        return received

    monkeypatch.setattr(WebsocketCommunicator, "receive_from", receive_from)
    monkeypatch.setattr(ClientConnection, "recv", recv)
    yield
