"""The live WebSocket endpoint, /ws/live/: authentication, limits, one handler per command."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from django.conf import settings

from streams.access import stream_can_control
from streams.clock import now_ms
from streams.contract import (
    HelloFrame,
    PongFrame,
    PublishedFrame,
    SubscribedFrame,
    encode,
    link_group,
    presence_text,
    status_frame,
    stream_group,
    unsubscribed_frame,
    user_group,
)
from streams.describe import stream_switchable
from streams.live.catchup import CatchUp, Subscription
from streams.live.census import announcer
from streams.live.limits import (
    CommandBudget,
    connection_admitted,
    connection_released,
    limits_announced,
)
from streams.live.presence import presence
from streams.live.protocol import (
    CLOSE_FLOOD,
    CLOSE_IDLE,
    CLOSE_TOO_MANY_CONNECTIONS,
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
from streams.live.shared_reads import Wanted, shared_reads
from streams.metrics import metric_inc
from streams.models import Stream
from streams.producer import ingest
from streams.producer.control import stream_start_stop

log = logging.getLogger(__name__)

# What the server's WebSocket keepalive reports when a client stopped answering pings.
CLOSE_PING_TIMEOUT = 1011


class LiveConsumer(CatchUp):
    subscriptions: dict[str, Subscription]
    # A client's command reads through `database_sync_to_async` or the history thread,
    # which keep their connections themselves: no trip to close them first.
    database_free_events = frozenset(
        {"stream.frame", "stream.presence", "stream.status", "user.alert", "websocket.receive"}
    )

    async def connect(self) -> None:
        # The handshake read the credential just now (the sweep allows for the gap).
        self.rights_read_at = time.time()
        user = self.scope.get("user")
        self.link_dashboard: int | None = self.scope.get("link_dashboard")
        signed_in = user is not None and user.is_authenticated
        if not signed_in and self.link_dashboard is None:
            metric_inc("pulseboard_connections_refused_total", reason="unauthenticated")
            await self.close()  # before accept: the handshake is refused
            return
        self.user = user
        self.signed_in = signed_in
        self.viewer = f"user:{user.pk}" if signed_in else f"link:{self.link_dashboard}"
        # A user's group carries alerts and access changes; a link's, its revocation.
        self.personal_groups = [user_group(user.pk)] if signed_in else []
        if self.link_dashboard is not None:
            self.personal_groups.append(link_group(self.link_dashboard))
        self.subscriptions = {}
        self.joining: set[str] = set()  # streams whose subscribe runs beside the loop
        self.budget = CommandBudget(
            settings.PULSEBOARD_COMMANDS_PER_SECOND, settings.PULSEBOARD_COMMAND_BURST
        )
        self.last_activity = time.monotonic()
        self.idle_timer: asyncio.TimerHandle | None = None
        await self.accept()
        if not await connection_admitted(self.channel_name, self.viewer):
            limit = settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER
            await self.send_error(
                ProtocolError("too_many", f"At most {limit} connections per user.")
            )
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        for group in self.personal_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.arm_idle_timer(settings.PULSEBOARD_IDLE_TIMEOUT)
        self.access_watch()
        hello: HelloFrame = {
            "type": "hello",
            "user": user.get_username() if signed_in else None,
            "server_time": now_ms(),
            "limits": limits_announced(),
            "protocol": PROTOCOL_VERSION,
        }
        await self.send(text_data=encode(hello))

    async def disconnect(self, code: int) -> None:
        if code == CLOSE_PING_TIMEOUT:
            metric_inc("pulseboard_clients_dropped_total")
        await self.release()

    async def release(self) -> None:
        """Leave every group and forget the connection (once, however it ends)."""
        if not hasattr(self, "subscriptions") or getattr(self, "released", False):
            return  # refused before accept, or already done
        self.released = True
        await self.settle()  # the subscribes under way end first, then are left with the rest
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        self.access_unwatch()
        for group in self.personal_groups:
            await self.channel_layer.group_discard(group, self.channel_name)
        for slug in list(self.subscriptions):
            await self.channel_layer.group_discard(stream_group(slug), self.channel_name)
        left = await connection_released(self.channel_name, self.viewer)
        for slug in left:
            await self.announce_presence(slug)

    # -- limits ---------------------------------------------------------------

    def arm_idle_timer(self, delay: float) -> None:
        self.idle_timer = asyncio.get_running_loop().call_later(delay, self.check_idle)

    def check_idle(self) -> None:
        idle = time.monotonic() - self.last_activity
        timeout = settings.PULSEBOARD_IDLE_TIMEOUT
        if idle >= timeout:
            self.closing = asyncio.ensure_future(self.close(code=CLOSE_IDLE))
        else:
            self.arm_idle_timer(timeout - idle)

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
        await self.dispatch_command(command)

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
                log.info("client of %s left during a command", self.user)
                return
            log.exception("command failed for %s", self.user)
            await self.send_error(
                ProtocolError("internal", "The server could not complete the command.")
            )

    async def send_error(self, error: ProtocolError) -> None:
        metric_inc("pulseboard_errors_total", code=error.code)
        await self.send(text_data=encode(error_message(error)))

    async def dispatch_command(self, command: Command) -> None:
        if isinstance(command, Subscribe):
            await self.start_subscribe(command)
            return
        await self.settle()  # any other command is answered after the subscribes before it
        if isinstance(command, Ping):
            pong: PongFrame = {
                "type": "pong",
                "t": command.t,
                "server_time": now_ms(),
                "ref": command.ref,
            }
            await self.send(text_data=encode(pong))
        elif isinstance(command, Unsubscribe):
            await self.unsubscribe(command)
        elif isinstance(command, Control):
            await self.control(command)
        elif isinstance(command, Publish):
            await self.publish(command)

    async def start_subscribe(self, command: Subscribe) -> None:
        """Admit a subscribe and run it beside the loop: a page's subscribes wait on
        their reads together (docs/performance.md, "Reconnect storms")."""
        if command.stream in self.joining:
            await self.settle()  # one stream's subscribes keep their order
        limit = settings.PULSEBOARD_MAX_SUBSCRIPTIONS
        taken = self.subscriptions.keys() | self.joining
        if command.stream not in taken and len(taken) >= limit:
            raise ProtocolError(
                "too_many", f"At most {limit} subscriptions per connection.", command.ref
            )
        self.joining.add(command.stream)
        await self.beside(self.answering(self.joined(command)))

    async def joined(self, command: Subscribe) -> None:
        try:
            await self.subscribe(command)
        finally:
            self.joining.discard(command.stream)

    # -- commands -------------------------------------------------------------

    async def readable_stream(self, slug: str, ref: Any) -> Stream:
        stream, allowed = await shared_reads().stream_for(slug, self.user, self.link_dashboard)
        if stream is None:
            raise ProtocolError("unknown_stream", f"There is no stream {slug!r}.", ref)
        if not allowed:
            raise ProtocolError("forbidden", f"You may not watch {slug!r}.", ref)
        return stream

    async def subscribe(self, command: Subscribe) -> None:
        stream = await self.readable_stream(command.stream, command.ref)
        # Join first: every frame published from now on waits in our queue while
        # history is read, and the seq bookkeeping drops what history already sent.
        await self.channel_layer.group_add(stream.group_name, self.channel_name)
        wanted = Wanted(backfill=command.backfill, since=command.since)
        await self.admit_history(stream.slug, wanted, command.ref)
        snapshot = await shared_reads().snapshot(stream, wanted)
        last_seq = snapshot.last_seq
        reply: SubscribedFrame = {
            "type": "subscribed",
            "stream": stream.slug,
            "title": stream.title,
            "fields": stream.fields,
            "running": stream.running,
            "seq": last_seq,
            "ref": command.ref,
        }
        if command.since is not None:
            start, recovered = self.resume_start(command.since, snapshot.first_seq, last_seq)
            covered = snapshot.covers(start)
            # Rows of the batch's read count for whoever made it that large; the rest are ours.
            ours = last_seq - start if snapshot.payer is wanted or not covered else 0
            await self.take_history(stream.slug, ours, command.ref)
            reply["recovered"] = recovered
            await self.send(text_data=encode(reply))
            if covered:
                await self.send_shared_texts(snapshot.frames_after(start, last_seq))
            else:
                read = await self.send_history_after(stream, start, last_seq)
                self.allowance().give_back(ours - read)
        else:
            if snapshot.payer is wanted:
                self.allowance().charge(len(snapshot.latest(command.backfill)))
            await self.send(text_data=encode(reply))
            await self.send_shared_texts(snapshot.frames_latest(command.backfill))
            backfill = snapshot.latest(command.backfill)
            # Samples stored since last_seq was read may be in the backfill already.
            if backfill:
                last_seq = max(last_seq, backfill[-1]["seq"])
        subscription = self.subscriptions[stream.slug] = Subscription(
            stream.pk, stream.slug, last_seq
        )
        subscription.note_rights(stream, self.user)
        self.arm_own_net()  # a stream watched through a dashboard
        presence.watch(stream.slug, self.channel_name, self.viewer)
        await self.announce_presence(stream.slug)

    async def unsubscribe(self, command: Unsubscribe) -> None:
        if self.subscriptions.pop(command.stream, None) is None:
            raise ProtocolError(
                "not_subscribed", f"You are not subscribed to {command.stream!r}.", command.ref
            )
        await self.leave_stream(command.stream)
        await self.send(text_data=encode(unsubscribed_frame(command.stream, command.ref)))

    async def control(self, command: Control) -> None:
        stream = await self.readable_stream(command.stream, command.ref)
        if not stream_can_control(stream, self.user):
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
        by = self.user.get_username()
        # The caller gets its answer with its ref; the broadcast skips this socket.
        await stream_start_stop(
            stream=stream, running=command.running, by=by, origin=self.channel_name
        )
        status = status_frame(stream=stream.slug, running=command.running, by=by)
        await self.send(text_data=encode(status | {"ref": command.ref}))

    async def publish(self, command: Publish) -> None:
        stream = await self.readable_stream(command.stream, command.ref)
        try:
            stored = await ingest.ingest_samples(
                stream=stream, user=self.user, samples=command.samples
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

    # -- events from the channel layer ----------------------------------------

    async def stream_status(self, event: dict[str, Any]) -> None:
        if event["stream"] in self.subscriptions and event.get("origin") != self.channel_name:
            status = status_frame(stream=event["stream"], running=event["running"], by=event["by"])
            await self.send(text_data=encode(status))

    async def stream_presence(self, event: dict[str, Any]) -> None:
        if event["stream"] in self.subscriptions:
            await self.send_shared(presence_text(event))

    async def leave_stream(self, slug: str) -> None:
        await self.channel_layer.group_discard(stream_group(slug), self.channel_name)
        presence.unwatch(slug, self.channel_name)
        await self.announce_presence(slug)

    async def user_alert(self, event: dict[str, Any]) -> None:
        await self.send(text_data=encode(event["frame"]))

    async def announce_presence(self, slug: str) -> None:
        await announcer.announce(self.channel_layer, slug)
