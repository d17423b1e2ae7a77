"""The live socket's fan-out path: how layer events reach a WebSocket cheaply.

A frame goes to every watching socket each tick, so per-message overhead is what
a viewer costs. This base class of the live consumer:

- skips Channels' per-message database cleanup for events named in
  `database_free_events` (their handlers never touch the database directly);
- reads its channel's queue itself on Pulseboard's layers, with the client's
  messages forwarded into the same queue (`run_attached`), instead of Channels'
  two-task loop; other layers use Channels' loop;
- takes a live frame at once, inside the layer's `group_send` (`deliver`), when
  it waits with nothing queued and the frame follows what the client has: the
  bytes, framed once for every socket (`wire_frame`), go straight to the
  transport (`DirectWriter`, uvicorn's sans-I/O WebSocket only, while open and
  not pushing back); anything else is queued and handled in order;
- writes a socket's direct frames of one moment together (`WriteBatch`): separate
  WebSocket messages in one `writelines`; an ASGI send flushes what is held first;
- runs commands that wait on reads (subscribes) beside the loop (`beside`) while
  holding the layer's messages, in order, until they end.

With no channel from the layer (Redis away) the handshake is refused with 1013
and counted. `release()` runs once however the consumer ends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from streams.batches import per_loop
from streams.live.protocol import CLOSE_TRY_AGAIN_LATER
from streams.metrics import metric_inc

log = logging.getLogger(__name__)

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


class DirectWriter:
    """Writes finished frames to one uvicorn WebSocket while it is open and keeping up.

    uvicorn's `send` does the same for one frame (after encoding the text and
    framing it for this connection alone); this writes bytes framed once for
    every socket. When it cannot write (the client is behind, or the socket is
    closing) it says so and the caller goes the ASGI way. The first frame of a
    moment is written at once; later ones are held in `pending` until the
    moment ends (`WriteBatch.flush`) or the socket sends anything the ASGI way.
    """

    __slots__ = ("batch", "moment", "pending", "protocol")

    def __init__(self, protocol: Any, batch: WriteBatch):
        self.protocol = protocol
        self.batch = batch
        self.moment = -1  # the last moment this socket was written in
        self.pending: list[bytes] = []

    def write(self, wire: bytes) -> bool:
        protocol = self.protocol
        if (
            protocol.close_sent
            or protocol.disconnected
            or not protocol.writable.is_set()
            or protocol.conn.state is not State.OPEN
            or protocol.transport.is_closing()
        ):
            return False
        if self.pending:
            self.pending.append(wire)
            return True
        batch = self.batch
        if self.moment != batch.moment:
            self.moment = batch.moment
            batch.arm()
            protocol.transport.write(wire)
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
        transport = self.protocol.transport
        if transport.is_closing():
            return
        if len(pending) == 1:
            transport.write(pending[0])  # one stream's frame: no list for the transport to walk
        else:
            transport.writelines(pending)


def direct_writer(send: Any) -> DirectWriter | None:
    """Return a `DirectWriter` for an accepted uvicorn socket, None for any other server."""
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    if protocol.conn.extensions or not protocol.handshake_complete:
        return None  # a compressed socket frames each message for itself
    return DirectWriter(protocol, write_batch())


# The loop's own message: the commands running beside it are done.
SIDE_DONE = "pulseboard.side_done"


class FanoutConsumer(AsyncWebsocketConsumer):
    database_free_events: frozenset[str] = frozenset()
    writer: DirectWriter | None = None
    asgi_send: Callable[[dict[str, Any]], Awaitable[None]] | None = None
    inbox: asyncio.Queue[tuple[float, dict[str, Any]]] | None = None
    waiting = False  # for the next message, every earlier one handled

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.side: set[asyncio.Task[None]] = set()  # commands running beside the loop
        self.held: list[dict[str, Any]] = []  # the layer's messages that came meanwhile

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            layer = get_channel_layer(self.channel_layer_alias)
            if hasattr(layer, "attach"):
                await self.run_attached(layer, scope, receive, send)
            else:
                await super().__call__(scope, receive, send)
        finally:
            await self.release()

    async def release(self) -> None:
        """Leave groups and forget the connection; safe to call more than once."""

    async def beside(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a command beside the loop, which goes on with the client's next messages.

        The layer's messages wait until no such command runs, then are handled in
        the order they came. Without an attached queue (Channels' own loop) the
        command runs here and now. `work` handles its own errors.
        """
        if self.inbox is None:
            await work
            return
        task = asyncio.ensure_future(work)
        self.side.add(task)
        task.add_done_callback(self.side_done)

    def side_done(self, task: asyncio.Task[None]) -> None:
        self.side.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, OSError):
            log.error("a command beside the loop failed", exc_info=error)
        if not self.side and self.inbox is not None:
            self.inbox.put_nowait((math.inf, {"type": SIDE_DONE}))

    async def settle(self) -> None:
        """Wait for the commands running beside the loop (a command after them waits so)."""
        while self.side:
            await asyncio.gather(*self.side, return_exceptions=True)

    def database_free_handlers(self) -> dict[str, Callable[[Any], Awaitable[None]]]:
        """Return the handler of each database-free event, looked up once per socket."""
        return {kind: getattr(self, kind.replace(".", "_")) for kind in self.database_free_events}

    async def handle(
        self, message: dict[str, Any], handlers: dict[str, Callable[[Any], Awaitable[None]]]
    ) -> None:
        handler = handlers.get(message["type"])
        await (handler(message) if handler is not None else self.dispatch(message))

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in self.database_free_events:
            await getattr(self, kind.replace(".", "_"))(message)
        else:
            await super().dispatch(message)

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if text_data is not None and not close:
            await self.base_send({"type": "websocket.send", "text": text_data})
        else:
            await super().send(text_data, bytes_data, close)

    async def send_shared(self, text: str) -> None:
        """Send a text that many sockets send at once (a live frame), through one ASGI message."""
        await self.base_send(websocket_send(text))

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        self.writer = direct_writer(self.asgi_send or self.base_send)

    async def send_in_order(self, message: dict[str, Any]) -> None:
        """Send an ASGI message after the frames held for this socket."""
        assert self.asgi_send is not None, "set with base_send in run_attached"
        if self.writer is not None:
            self.writer.flush()
        await self.asgi_send(message)

    def deliver(self, message: dict[str, Any]) -> bool:
        """Handle a layer's message inside the layer's call when nothing waits before it.

        Return False to have it queued instead, as for any other message.
        """
        if not self.waiting or self.writer is None or self.side or self.held:
            return False
        if self.inbox is None or self.inbox.qsize():
            return False
        try:
            return self.deliver_now(message)
        except Exception:
            log.exception("direct delivery failed; the message is queued")
            return False

    def deliver_now(self, message: dict[str, Any]) -> bool:
        """Handle `message` at once, without awaiting anything; False when it cannot."""
        return False

    def write_shared(self, text: str) -> bool:
        """Write a text many sockets send at once; False when it must go the ASGI way."""
        return self.writer is not None and self.writer.write(wire_frame(text))

    async def send_shared_texts(self, texts: list[str]) -> None:
        """Send texts other sockets send too (history read once for many), in order."""
        for text in texts:
            if not self.write_shared(text):
                await self.send_shared(text)

    async def run_attached(self, layer: Any, scope: Any, receive: Any, send: Any) -> None:
        """Channels' consumer loop, reading one queue that the client's messages join."""
        self.scope = scope
        self.channel_layer = layer
        try:
            self.channel_name = await layer.new_channel()
        except Exception:
            metric_inc("pulseboard_connections_refused_total", reason="layer_down")
            await receive()  # the handshake; accepted only to say why it closes
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
            return
        self.channel_receive = functools.partial(layer.receive, self.channel_name)
        self.asgi_send = send
        self.base_send = self.send_in_order
        inbox = self.inbox = layer.attach(self.channel_name, self.deliver)

        async def forward() -> None:
            while True:
                message = await receive()
                await inbox.put((math.inf, message))
                if message["type"] == "websocket.disconnect":
                    return

        reader = asyncio.ensure_future(forward())
        handlers = self.database_free_handlers()
        try:
            while True:
                self.waiting = True
                _, message = await inbox.get()
                self.waiting = False
                kind = message["type"]
                if kind == SIDE_DONE:
                    if not self.side:
                        held, self.held = self.held, []
                        for each in held:
                            await self.handle(each, handlers)
                elif (self.side or self.held) and not kind.startswith("websocket."):
                    self.held.append(message)
                else:
                    await self.handle(message, handlers)
        except StopConsumer:
            pass
        finally:
            self.waiting = False
            reader.cancel()
            await layer.detach(self.channel_name)
