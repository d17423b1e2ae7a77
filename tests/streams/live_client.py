"""A WebSocket client of /ws/live/ (or /ws/data/) for the streams tests."""

from __future__ import annotations

from typing import Any

from channels.testing import WebsocketCommunicator

TIMEOUT = 2.0


class Live:
    """A WebSocket client of /ws/live/ (or /ws/data/) in a test."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.connected = False
        self.close_code: int | None = None
        self.ping_count = 0
        self.hello: dict[str, Any] = {}

    async def send(self, message: Any) -> None:
        await self.communicator.send_json_to(message)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = TIMEOUT) -> Any:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def receive_until(self, kind: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Return every frame up to and including the first of type `kind`."""
        frames = []
        while True:
            frame = await self.receive(timeout)
            frames.append(frame)
            if frame.get("type") == kind:
                return frames

    async def command(self, message: dict[str, Any], kind: str) -> dict[str, Any]:
        """Send a command; return the first reply of type `kind`, skipping presence news."""
        await self.send(message)
        frames = await self.receive_until(kind)
        return frames[-1]

    async def roundtrip(self) -> list[dict[str, Any]]:
        """Ping; return every frame that came before the pong (the pong not included)."""
        self.ping_count += 1
        await self.send({"type": "ping", "t": self.ping_count})
        frames = await self.receive_until("pong")
        assert frames[-1]["t"] == self.ping_count
        return frames[:-1]

    async def closed_with(self, timeout: float = TIMEOUT) -> int | None:
        """Wait for the server to close the socket; return the close code."""
        while True:
            output = await self.communicator.receive_output(timeout)
            if output["type"] == "websocket.close":
                self.close_code = output.get("code")
                return self.close_code

    async def disconnect(self) -> None:
        future = self.communicator.future
        if future.done():
            if not future.cancelled():
                future.exception()  # seen here, so asyncio does not log it again
            return
        await self.communicator.disconnect()
