"""A lean WebSocket client for load runs: an asyncio protocol that hands whole messages to a callback.

The `websockets` client costs the load process about 45 µs per message received
(a queue, a task switch and a frame object each); five thousand viewers of the
live overview receive some seventy thousand messages a second, more than the
two cores of the machine running both the load and the server can give. This
one parses the server's frames straight out of the bytes read (server frames are
never masked), answers pings, and masks what it sends, as RFC 6455 requires of
a client. No extensions are offered, so none are used.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable
from urllib.parse import urlsplit

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def client_frame(opcode: int, payload: bytes) -> bytes:
    """Return a final client frame of `opcode` carrying `payload`, masked."""
    key = os.urandom(4)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    # XOR with the key repeated, done on one big integer instead of byte by byte.
    repeated = (key * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        size, "big"
    )
    return header + key + masked


class RawClient(asyncio.Protocol):
    """One WebSocket: `on_message(bytes)` for each text or binary message; `closed` when it ends."""

    def __init__(self, host: str, target: str, on_message: Callable[[bytes], None]):
        self.host = host
        self.target = target
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {self.target} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            status = buffer[: buffer.find(b"\r\n")]
            if b" 101 " not in status + b" ":
                self.fail(ConnectionError(f"handshake refused: {status.decode(errors='replace')}"))
                return
            self.upgraded = True
            if not self.open.done():
                self.open.set_result(None)
            buffer = buffer[end + 4 :]
        offset, size = 0, len(buffer)
        while size - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length = second & 0x7F
            start = offset + 2
            if length == 126:
                if size - start < 2:
                    break
                (length,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif length == 127:
                if size - start < 8:
                    break
                (length,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            if size - start < length:
                break
            payload = buffer[start : start + length]
            offset = start + length
            self.frame(first & 0x80, first & 0x0F, payload)
        self.buffer = buffer[offset:] if offset < size else b""

    def frame(self, final: int, opcode: int, payload: bytes) -> None:
        if opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
            if not final:
                self.fragments.append(payload)
                return
            if self.fragments:
                payload = b"".join([*self.fragments, payload])
                self.fragments = []
            self.on_message(payload)
        elif opcode == OP_PING:
            self.send_frame(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            self.send_frame(OP_CLOSE, payload[:2])
            if self.transport is not None:
                self.transport.close()

    def send_text(self, text: str) -> None:
        self.send_frame(OP_TEXT, text.encode())

    def send_frame(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))

    def abort(self) -> None:
        """Drop the connection without a closing handshake (a lost network)."""
        if self.transport is not None:
            self.transport.abort()

    def fail(self, error: Exception) -> None:
        if not self.open.done():
            self.open.set_exception(error)
        self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)


async def raw_connect(url: str, on_message: Callable[[bytes], None]) -> RawClient:
    """Open a WebSocket to a ws:// `url`; return its client once the handshake is done."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: RawClient(f"{host}:{port}", target, on_message), host, port
    )
    await client.open
    return client
