"""The live WebSocket endpoint, /ws/live/: one socket, built from parts it holds.

- `guard` (streams/live/guard.py): who the viewer is, the re-checks and the
  revocation of their access, their allowance of stored samples;
- `subscriptions` (streams/live/catchup.py): the streams the socket follows,
  caught up from history and fed live frames trimmed by seq;
- `writer` (streams/fanout/transport.py): how its frames leave — straight to
  uvicorn's transport where that is allowed, else through ASGI `send`;
- `inbox` (streams/live/inbox.py): on Pulseboard's layers, the one queue it
  reads, which its client's messages join; a live frame that arrives while it
  waits with nothing queued is written inside the layer's call (`deliver`).

One handler per client command (`command_*`) and one per layer event (named
as Channels dispatches them: `stream.frame` → `stream_frame`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from streams.access import stream_can_control
from streams.clock import now_ms
from streams.describe import stream_switchable
from streams.fanout.transport import Writer
from streams.fanout.transport_uvicorn import socket_writer
from streams.live.catchup import Subscription, Subscriptions
from streams.live.census import census
from streams.live.guard import AccessGuard
from streams.live.inbox import Inbox
from streams.live.limits import (
    CommandBudget,
    connection_admitted,
    connection_released,
    limits_announced,
)
from streams.live.presence import announcer, presence
from streams.live.protocol import (
    CLOSE_FLOOD,
    CLOSE_IDLE,
    CLOSE_SESSION_ENDED,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TRY_AGAIN_LATER,
    PROTOCOL_VERSION,
    Command,
    Control,
    Ping,
    ProtocolError,
    Publish,
    Subscribe,
    Unsubscribe,
    error_message,
    parse_command,
)
from streams.live.shared_reads import shared_reads
from streams.messages import (
    AccessChangedMessage,
    AccessRevokedMessage,
    HelloFrame,
    PongFrame,
    PublishedFrame,
    SessionEndedMessage,
    StreamFrameMessage,
    TokenRevokedMessage,
    encode,
    presence_text,
    status_frame,
    stream_group,
    unsubscribed_frame,
)
from streams.metrics import metric_inc
from streams.models import Stream
from streams.producer import ingest
from streams.producer.control import StartRefused, stream_start_stop

log = logging.getLogger(__name__)

# What the server's WebSocket keepalive reports when a client stopped answering pings.
CLOSE_PING_TIMEOUT = 1011

Handlers = dict[str, Callable[[Any], Awaitable[None]]]


class LiveConsumer(AsyncWebsocketConsumer):
    # Their handlers never touch the database directly (a command's reads go through
    # `database_sync_to_async` or the history thread, which keep their connections):
    # no trip to close old connections first.
    database_free_events = frozenset(
        {"stream.frame", "stream.presence", "stream.status", "user.alert", "websocket.receive"}
    )
    guard: AccessGuard
    subscriptions: Subscriptions  # set once the socket is accepted
    writer: Writer
    inbox: Inbox | None = None  # None on a layer without `attach`: Channels' own loop
    asgi_send: Callable[[dict[str, Any]], Awaitable[None]]
    released = False
    idle_timer: asyncio.TimerHandle | None = None

    # -- the socket's life ------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            layer = get_channel_layer(self.channel_layer_alias)
            if hasattr(layer, "attach"):
                await self.run_attached(layer, scope, receive, send)
            else:
                self.writer = Writer(send)
                await super().__call__(scope, receive, send)
        finally:
            await self.release()

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
        self.writer = Writer(send)
        self.base_send = self.send_in_order
        self.inbox = Inbox(layer.attach(self.channel_name, self.deliver))
        handlers = self.database_free_handlers()
        try:
            await self.inbox.run(receive, functools.partial(self.handle, handlers=handlers))
        finally:
            await layer.detach(self.channel_name)

    async def connect(self) -> None:
        guard = self.guard = AccessGuard(self.scope)
        if not guard.admits():
            metric_inc("pulseboard_connections_refused_total", reason="unauthenticated")
            await self.close()  # before accept: the handshake is refused
            return
        self.budget = CommandBudget(
            settings.PULSEBOARD_COMMANDS_PER_SECOND, settings.PULSEBOARD_COMMAND_BURST
        )
        self.last_activity = time.monotonic()
        await self.accept()
        self.subscriptions = Subscriptions(
            self.writer, self.channel_layer, self.channel_name, guard.allowance
        )
        if not await connection_admitted(self.channel_name, guard.viewer):
            limit = settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER
            await self.send_error(
                ProtocolError("too_many", f"At most {limit} connections per user.")
            )
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        for group in guard.personal_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.arm_idle_timer(settings.PULSEBOARD_IDLE_TIMEOUT)
        guard.watch(self)
        hello: HelloFrame = {
            "type": "hello",
            "user": guard.user.get_username() if guard.signed_in else None,
            "server_time": now_ms(),
            "limits": limits_announced(),
            "protocol": PROTOCOL_VERSION,
        }
        await self.send(text_data=encode(hello))

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        if self.inbox is not None:
            # Direct writes need the attached loop: it sends everything else after them.
            self.writer = socket_writer(self.asgi_send)

    async def disconnect(self, code: int) -> None:
        if code == CLOSE_PING_TIMEOUT:
            metric_inc("pulseboard_clients_dropped_total")
        await self.release()

    async def release(self) -> None:
        """Leave every group and forget the connection (once, however it ends)."""
        if self.released or not hasattr(self, "subscriptions"):
            return  # refused before accept, or already done
        self.released = True
        await self.settle()  # the subscribes under way end first, then are left with the rest
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.guard.unwatch()
        for group in self.guard.personal_groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        for slug in list(self.subscriptions.streams):
            await self.channel_layer.group_discard(stream_group(slug), self.channel_name)
        left = await connection_released(self.channel_name, self.guard.viewer)
        for slug in left:
            await self.announce_presence(slug)

    def arm_idle_timer(self, delay: float) -> None:
        self.idle_timer = asyncio.get_running_loop().call_later(delay, self.check_idle)

    def check_idle(self) -> None:
        idle = time.monotonic() - self.last_activity
        timeout = settings.PULSEBOARD_IDLE_TIMEOUT
        if idle >= timeout:
            self.closing = asyncio.ensure_future(self.close(code=CLOSE_IDLE))
        else:
            self.arm_idle_timer(timeout - idle)

    # -- what comes in: the loop's messages -------------------------------------

    def deliver(self, message: dict[str, Any]) -> bool:
        """Handle a layer's message inside the layer's call when nothing waits before it.

        Return False to have it queued instead, as for any other message.
        """
        inbox = self.inbox
        # `Inbox.idle` inline: this runs for every socket of every live frame.
        if inbox is None or not inbox.waiting or inbox.side or inbox.held or not self.writer.direct:
            return False
        if inbox.queue.qsize():
            return False
        try:
            return self.subscriptions.deliver_now(message)
        except Exception:
            log.exception("direct delivery failed; the message is queued")
            return False

    def database_free_handlers(self) -> Handlers:
        """Return the handler of each database-free event, looked up once per socket."""
        return {kind: getattr(self, kind.replace(".", "_")) for kind in self.database_free_events}

    async def handle(self, message: dict[str, Any], handlers: Handlers) -> None:
        handler = handlers.get(message["type"])
        await (handler(message) if handler is not None else self.dispatch(message))

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in self.database_free_events:
            await getattr(self, kind.replace(".", "_"))(message)
        else:
            await super().dispatch(message)

    async def beside(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a command beside the loop (on Channels' own loop: here and now)."""
        if self.inbox is None:
            await work
        else:
            self.inbox.beside(work)

    async def settle(self) -> None:
        """Wait for the commands running beside the loop (a command after them waits so)."""
        if self.inbox is not None:
            await self.inbox.settle()

    # -- what goes out ------------------------------------------------------------

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        if text_data is not None and not close:
            await self.writer.send_text(text_data)
        else:
            await super().send(text_data, bytes_data, close)

    async def send_in_order(self, message: dict[str, Any]) -> None:
        """Send an ASGI message (accept, close) after the frames held for this socket."""
        await self.writer.send(message)

    async def send_error(self, error: ProtocolError) -> None:
        metric_inc("pulseboard_errors_total", code=error.code)
        await self.send(text_data=encode(error_message(error)))

    # -- commands -------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        self.last_activity = time.monotonic()
        if not self.budget.allow():
            metric_inc("pulseboard_errors_total", code="rate_limited")
            if self.budget.flooding:
                await self.close(code=CLOSE_FLOOD)
                return
            if self.budget.refused_in_a_row == 1:
                rate = settings.PULSEBOARD_COMMANDS_PER_SECOND
                await self.send_error(
                    ProtocolError("rate_limited", f"At most {rate:g} commands a second.")
                )
            return
        await self.answering(self.take_command(text_data))

    async def take_command(self, text_data: str | None) -> None:
        if text_data is None:
            raise ProtocolError("binary_not_supported", "Send JSON text frames, not binary ones.")
        limit = settings.PULSEBOARD_MAX_FRAME_BYTES
        if len(text_data) > limit or len(text_data.encode()) > limit:
            raise ProtocolError("too_large", f"Frames may be at most {limit} bytes.")
        command = parse_command(text_data, max_backfill=settings.PULSEBOARD_MAX_BACKFILL)
        if isinstance(command, Subscribe):
            await self.command_subscribe(command)  # runs beside the loop
            return
        await self.settle()  # any other command is answered after the subscribes before it
        await self.dispatch_command(command)

    async def dispatch_command(self, command: Command) -> None:
        match command:
            case Ping():
                await self.command_ping(command)
            case Unsubscribe():
                await self.command_unsubscribe(command)
            case Control(running=True):
                await self.command_start(command)
            case Control():
                await self.command_stop(command)
            case Publish():
                await self.command_publish(command)

    async def answering(self, work: Awaitable[None]) -> None:
        """Run a command; a refusal or a failure is told to the client as an `error` frame."""
        try:
            await work
        except ProtocolError as error:
            await self.send_error(error)
        except Exception as error:
            if isinstance(error, OSError) and not isinstance(error, TimeoutError):
                # The client left while its answer was sent (uvicorn's ClientDisconnected):
                # a normal end, with nobody left to tell.
                log.info("client of %s left during a command", self.guard.user)
                return
            log.exception("command failed for %s", self.guard.user)
            await self.send_error(
                ProtocolError("internal", "The server could not complete the command.")
            )

    async def readable_stream(self, slug: str, ref: Any) -> Stream:
        guard = self.guard
        stream, allowed = await shared_reads().stream_for(slug, guard.user, guard.link_dashboard)
        if stream is None:
            raise ProtocolError("unknown_stream", f"There is no stream {slug!r}.", ref)
        if not allowed:
            raise ProtocolError("forbidden", f"You may not watch {slug!r}.", ref)
        return stream

    async def command_subscribe(self, command: Subscribe) -> None:
        """Admit a subscribe and run it beside the loop: a page's subscribes wait on
        their reads together (docs/performance.md, "Reconnect storms")."""
        subscriptions = self.subscriptions
        if command.stream in subscriptions.joining:
            await self.settle()  # one stream's subscribes keep their order
        limit = settings.PULSEBOARD_MAX_SUBSCRIPTIONS
        taken = subscriptions.taken()
        if command.stream not in taken and len(taken) >= limit:
            raise ProtocolError(
                "too_many", f"At most {limit} subscriptions per connection.", command.ref
            )
        subscriptions.joining.add(command.stream)
        await self.beside(self.answering(self.subscribe(command)))

    async def subscribe(self, command: Subscribe) -> None:
        """Gapless subscribe: join the group, then send history, then live frames by seq."""
        try:
            stream = await self.readable_stream(command.stream, command.ref)
            await self.subscriptions.join(stream, command, self.guard.user)
            self.guard.arm_own_net()  # a stream watched through a dashboard
            presence.watch(stream.slug, self.channel_name, self.guard.viewer)
            await self.announce_presence(stream.slug)
        finally:
            self.subscriptions.joining.discard(command.stream)

    async def command_unsubscribe(self, command: Unsubscribe) -> None:
        if command.stream not in self.subscriptions:
            raise ProtocolError(
                "not_subscribed", f"You are not subscribed to {command.stream!r}.", command.ref
            )
        await self.leave_stream(command.stream)
        await self.send(text_data=encode(unsubscribed_frame(command.stream, command.ref)))

    async def command_ping(self, command: Ping) -> None:
        pong: PongFrame = {
            "type": "pong",
            "t": command.t,
            "server_time": now_ms(),
            "ref": command.ref,
        }
        await self.send(text_data=encode(pong))

    async def command_start(self, command: Control) -> None:
        try:
            await self.switch(command)
        except StartRefused as refusal:
            # A derived stream whose owner does not read its source: the client hears why.
            raise ProtocolError(refusal.code, refusal.message, command.ref) from None

    async def command_stop(self, command: Control) -> None:
        await self.switch(command)

    async def switch(self, command: Control) -> None:
        """Start or stop a stream's source (its owner or staff); watchers hear `status`."""
        stream = await self.readable_stream(command.stream, command.ref)
        user = self.guard.user
        if not stream_can_control(stream, user):
            verb = "start" if command.running else "stop"
            raise ProtocolError(
                "forbidden", f"Only the owner or staff may {verb} {stream.slug!r}.", command.ref
            )
        if not stream_switchable(stream):
            raise ProtocolError(
                "invalid_field",
                f"{stream.slug!r} is a {stream.source_kind} stream with nothing to start or stop.",
                command.ref,
            )
        by = user.get_username()
        # The caller gets its answer with its ref; the broadcast skips this socket.
        await stream_start_stop(
            stream=stream, running=command.running, by=by, origin=self.channel_name
        )
        status = status_frame(stream=stream.slug, running=command.running, by=by)
        await self.send(text_data=encode(status | {"ref": command.ref}))

    async def command_publish(self, command: Publish) -> None:
        stream = await self.readable_stream(command.stream, command.ref)
        try:
            stored = await ingest.ingest_samples(
                stream=stream, user=self.guard.user, samples=command.samples
            )
        except ingest.IngestError as error:
            raise ProtocolError(error.code, error.message, command.ref) from None
        reply: PublishedFrame = {
            "type": "published",
            "stream": stream.slug,
            "count": len(stored),
            "ref": command.ref,
        }
        if stored:
            reply["first"], reply["last"] = stored[0]["seq"], stored[-1]["seq"]
        await self.send(text_data=encode(reply))

    # -- events from the channel layer ------------------------------------------------

    async def stream_frame(self, event: StreamFrameMessage) -> None:
        await self.subscriptions.frame(event)

    async def stream_status(self, event: dict[str, Any]) -> None:
        if event["stream"] in self.subscriptions and event.get("origin") != self.channel_name:
            status = status_frame(stream=event["stream"], running=event["running"], by=event["by"])
            await self.send(text_data=encode(status))

    async def stream_presence(self, event: dict[str, Any]) -> None:
        if event["stream"] in self.subscriptions:
            await self.writer.send_shared(presence_text(event))

    async def user_alert(self, event: dict[str, Any]) -> None:
        await self.send(text_data=encode(event["frame"]))

    async def access_changed(self, event: AccessChangedMessage) -> None:
        await self.guard.recheck()

    async def access_revoked(self, event: AccessRevokedMessage) -> None:
        """The link this socket came through was revoked or replaced."""
        await self.guard.link_lost()

    async def session_ended(self, event: SessionEndedMessage) -> None:
        """Logout closes that session's sockets; a new password closes all of the user's."""
        if self.guard.session_ended(event):
            await self.close(code=CLOSE_SESSION_ENDED)

    async def token_revoked(self, event: TokenRevokedMessage) -> None:
        """The API token this socket signed in with was deleted."""
        if self.guard.token_revoked(event):
            await self.close(code=CLOSE_SESSION_ENDED)

    # -- what the guard asks of the socket ---------------------------------------------

    def following(self) -> dict[str, Subscription]:
        return self.subscriptions.streams

    def enqueue(self, message: dict[str, Any]) -> bool:
        """Put a message in this socket's own line, after what came before; False when it cannot."""
        return self.inbox is not None and self.inbox.put(message)

    async def drop(self, slug: str, error: ProtocolError) -> None:
        await self.leave_stream(slug)
        await self.send_error(error)
        await self.send(text_data=encode(unsubscribed_frame(slug)))

    async def leave_group(self, group: str) -> None:
        await self.channel_layer.group_discard(group, self.channel_name)

    async def leave_stream(self, slug: str) -> None:
        await self.subscriptions.leave(slug)
        presence.unwatch(slug, self.channel_name)
        await self.announce_presence(slug)

    async def announce_presence(self, slug: str) -> None:
        await announcer.announce(self.channel_layer, slug, census().stream_counts)
