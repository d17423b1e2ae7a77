"""The socket writer: how a message leaves for one WebSocket client.

Every socket has a `Writer`. The plain one sends each message through the
server's ASGI `send`, which works on every server (uvicorn, Daphne, Channels'
test communicator). A server's adapter may give a socket a `DirectWriter`
instead (streams/fanout/transport_uvicorn.py): a live frame's bytes, framed once
for every socket that sends the same text (`wire_frame`), written straight to
the connection's asyncio transport while the socket is open and keeping up.
A socket's direct frames of one moment leave in one write (`WriteBatch`);
anything a direct writer cannot take goes the ASGI way, after what it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.frames import Frame, Opcode

from streams.batches import per_loop

Send = Callable[[dict[str, Any]], Awaitable[None]]

_shared: dict[str, str] = {"type": "websocket.send", "text": ""}
_wires: dict[str, bytes] = {}
WIRES_KEPT = 512


def websocket_send(text: str) -> dict[str, str]:
    """Return the ASGI message sending `text`; the same dict while the same text is sent.

    A live frame goes to every watcher one after another, so remembering the
    last one is enough. ASGI servers only read the messages they are given.
    """
    global _shared
    if _shared["text"] is not text:
        _shared = {"type": "websocket.send", "text": text}
    return _shared


def wire_frame(text: str) -> bytes:
    """Return `text` as the bytes of a server's WebSocket text frame, made once per text.

    A server's frames are not masked and Pulseboard's sockets are not compressed,
    so every socket sends the same bytes for the same text. The texts framed
    lately are remembered: a live frame goes to every watcher, and a shared
    history read's frames to every viewer that joined with it.
    """
    wire = _wires.get(text)
    if wire is None:
        if len(_wires) >= WIRES_KEPT:
            _wires.clear()
        wire = _wires[text] = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])
    return wire


class Writer:
    """The plain path: every message goes through the server's ASGI `send`, in order."""

    __slots__ = ("asgi_send",)
    direct = False

    def __init__(self, send: Send):
        self.asgi_send = send

    def write_shared(self, text: str) -> bool:
        """Write at once a text many sockets send; False when it must go the ASGI way."""
        return False

    def flush(self) -> None:
        """Write what is held (the plain path holds nothing)."""

    async def send(self, message: dict[str, Any]) -> None:
        """Send an ASGI message after anything held for this socket."""
        await self.asgi_send(message)

    async def send_text(self, text: str) -> None:
        await self.send({"type": "websocket.send", "text": text})

    async def send_shared(self, text: str) -> None:
        """Send a text that many sockets send at once (a live frame) through one ASGI message."""
        await self.send(websocket_send(text))

    async def send_shared_texts(self, texts: list[str]) -> None:
        """Send texts other sockets send too (history read once for many), in order."""
        for text in texts:
            if not self.write_shared(text):
                await self.send_shared(text)


class WriteBatch:
    """The moments of one event loop, and the direct writers holding bytes until one ends.

    A moment lasts until the callbacks the loop is running have run. A socket's
    first frame of a moment is written at once (a viewer of one stream pays
    nothing more); what follows it in the same moment — the other streams of a
    producer tick, the rest of a read from Redis — is held and leaves in one
    write when the moment ends.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.moment = 0
        self.armed = False
        self.writers: list[DirectWriter] = []

    def arm(self) -> None:
        """Have the current moment end (and held bytes leave) once the running callbacks ran."""
        if not self.armed:
            self.armed = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.armed = False
        self.moment += 1
        writers, self.writers = self.writers, []
        for writer in writers:
            writer.flush()


# The running loop's `WriteBatch`.
write_batch = per_loop(lambda: WriteBatch(asyncio.get_running_loop()))


class DirectWriter(Writer):
    """Writes finished frames to a connection's transport while its socket can take them.

    A server's adapter knows when that is: its `write_shared` checks that the
    socket is open and its transport not pushing back, then `take`s the frame.
    The first frame of a moment is written at once; later ones are held in
    `pending` until the moment ends (`WriteBatch.flush`) or the socket sends
    anything the ASGI way.
    """

    __slots__ = ("batch", "moment", "pending", "transport")
    direct = True

    def __init__(self, send: Send, transport: asyncio.WriteTransport, batch: WriteBatch):
        super().__init__(send)
        self.transport = transport
        self.batch = batch
        self.moment = -1  # the last moment this socket was written in
        self.pending: list[bytes] = []

    def take(self, wire: bytes) -> bool:
        """Write a finished frame now, or hold it until the moment ends; return True."""
        if self.pending:
            self.pending.append(wire)
            return True
        batch = self.batch
        if self.moment != batch.moment:
            self.moment = batch.moment
            batch.arm()
            self.transport.write(wire)
        else:
            self.pending.append(wire)
            batch.writers.append(self)
        return True

    def flush(self) -> None:
        """Write what is held; dropped only when the socket closed meanwhile."""
        pending = self.pending
        if not pending:
            return
        self.pending = []
        transport = self.transport
        if transport.is_closing():
            return
        if len(pending) == 1:
            transport.write(pending[0])  # one stream's frame: no list for the transport to walk
        else:
            transport.writelines(pending)

    async def send(self, message: dict[str, Any]) -> None:
        self.flush()
        await self.asgi_send(message)
