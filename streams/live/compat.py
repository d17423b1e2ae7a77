"""/ws/data/: the start/stop sensor feed that many WebSocket tutorials use.

Each connection gets its own sensor, read every 0.5–2 s like the tutorial's;
`{"action": "start_stream"}` starts it and `{"action": "stop_stream"}` stops it.
As in the tutorial, a web process serves at most `PULSEBOARD_DATA_MAX_CONNECTIONS`
connections and `PULSEBOARD_DATA_MAX_STREAMS` running feeds, and closes a
connection that sent nothing and ran no feed for `PULSEBOARD_DATA_IDLE_TIMEOUT`
seconds. Nothing here touches stored streams.

Its sockets are the user's like those of /ws/live/: they count in the same
per-user limit (`PULSEBOARD_MAX_CONNECTIONS_PER_USER`, closed with 4029 past it)
and join the user's group, so logout, a new password, deactivation or the
deletion of the socket's API token close them at once with 4001.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from streams.auth import session_end_reaches, token_revocation_reaches
from streams.clock import now_ms
from streams.live.limits import CommandBudget, connection_admitted, connection_released
from streams.live.protocol import (
    CLOSE_IDLE,
    CLOSE_SESSION_ENDED,
    CLOSE_TOO_MANY_CONNECTIONS,
    CLOSE_TRY_AGAIN_LATER,
)
from streams.messages import SessionEndedMessage, TokenRevokedMessage, user_group
from streams.metrics import metric_inc
from streams.sources.sensor import SensorSource

IDLE_CHECK_SECONDS = 1.0
# What this endpoint does with the messages of the user's group; the rest (alerts,
# access changes for /ws/live/) concern streams, which a sensor feed has none of.
USER_EVENTS = frozenset({"session.ended", "token.revoked"})


class DataConsumer(AsyncWebsocketConsumer):
    feed: asyncio.Task[None] | None = None
    idle_watch: asyncio.Task[None] | None = None
    group: str | None = None  # the user's, once joined
    counted = False  # in the per-user connection limit
    ended = False  # closing: sends nothing more
    # This process's open connections and running feeds.
    connections: ClassVar[set[DataConsumer]] = set()
    feeds: ClassVar[set[DataConsumer]] = set()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            metric_inc("pulseboard_connections_refused_total", reason="unauthenticated")
            await self.close()
            return
        await self.accept()
        self.viewer = f"user:{user.pk}"
        if not await connection_admitted(self.channel_name, self.viewer):
            limit = settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER
            await self.end(
                {"error": f"At most {limit} connections per user", "code": "too_many"},
                CLOSE_TOO_MANY_CONNECTIONS,
            )
            return
        self.counted = True
        limit = settings.PULSEBOARD_DATA_MAX_CONNECTIONS
        if len(self.connections) >= limit:
            metric_inc("pulseboard_connections_refused_total", reason="data_connections")
            await self.end(
                {"error": f"Maximum connections reached ({limit}); try again later"},
                CLOSE_TRY_AGAIN_LATER,
            )
            return
        self.connections.add(self)
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        self.budget = CommandBudget(
            settings.PULSEBOARD_COMMANDS_PER_SECOND, settings.PULSEBOARD_COMMAND_BURST
        )
        self.last_message = time.monotonic()
        self.idle_watch = asyncio.create_task(self.watch_idle())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.release()  # also when the server cancels the consumer

    async def disconnect(self, code: int) -> None:
        await self.release()

    async def release(self) -> None:
        """Stop the feed, leave the user's group and stop counting the socket (once)."""
        self.stop_feed()
        self.connections.discard(self)
        if self.idle_watch is not None:
            self.idle_watch.cancel()
        if self.group is not None:
            group, self.group = self.group, None
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.counted:
            self.counted = False
            await connection_released(self.channel_name, self.viewer)

    async def end(self, message: dict, code: int) -> None:
        """Say why, stop the feed and close: nothing is sent after it (once)."""
        if self.ended:
            return
        self.ended = True
        self.stop_feed()
        if message:
            await self.reply(message)
        await self.close(code=code)

    # -- the user's group ---------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Handle the client's frames and credential events; pass over the group's other news."""
        kind = message["type"]
        if kind.startswith("websocket.") or kind in USER_EVENTS:
            await super().dispatch(message)

    async def session_ended(self, event: SessionEndedMessage) -> None:
        """Logout closes that session's sockets; a new password closes all of the user's."""
        if session_end_reaches(self.scope, event):
            await self.end({}, CLOSE_SESSION_ENDED)

    async def token_revoked(self, event: TokenRevokedMessage) -> None:
        """The API token this socket signed in with was deleted."""
        if token_revocation_reaches(self.scope, event):
            await self.end({}, CLOSE_SESSION_ENDED)

    async def reply(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ended:
            return  # closing (refused, credential ended, idle): no feed starts again
        self.last_message = time.monotonic()
        if not self.budget.allow():
            if self.budget.refused_in_a_row == 1:
                await self.reply({"error": "Too many messages", "code": "rate_limited"})
            return
        if text_data is None or len(text_data) > settings.PULSEBOARD_MAX_FRAME_BYTES:
            await self.reply({"error": "Invalid JSON format"})
            return
        try:
            message = orjson.loads(text_data)
        except orjson.JSONDecodeError:
            await self.reply({"error": "Invalid JSON format"})
            return
        action = message.get("action") if isinstance(message, dict) else None
        if action == "start_stream":
            await self.start_feed()
        elif action == "stop_stream":
            self.stop_feed()
            await self.reply({"status": "stopped"})
        else:
            await self.reply({"error": "Unknown action; use start_stream or stop_stream"})

    async def start_feed(self) -> None:
        limit = settings.PULSEBOARD_DATA_MAX_STREAMS
        if self.feed is None and len(self.feeds) >= limit:
            await self.reply({"error": f"Maximum concurrent streams reached ({limit})"})
            return
        if self.feed is None:
            self.feed = asyncio.create_task(self.run_feed())
            self.feeds.add(self)
        await self.reply({"status": "started"})

    def stop_feed(self) -> None:
        if self.feed is not None:
            self.feed.cancel()
            self.feed = None
        self.feeds.discard(self)
        # A stopped feed counts as activity: the idle time starts again from now.
        self.last_message = time.monotonic()

    async def watch_idle(self) -> None:
        """Close the connection once it has been idle (no message, no feed) for the timeout."""
        timeout = settings.PULSEBOARD_DATA_IDLE_TIMEOUT
        while True:
            await asyncio.sleep(min(IDLE_CHECK_SECONDS, timeout / 4))
            if self.feed is None and time.monotonic() - self.last_message >= timeout:
                message = {"error": f"Idle timeout: no message for {timeout:g} seconds"}
                await self.end(message, CLOSE_IDLE)
                return

    async def run_feed(self) -> None:
        sensor = SensorSource({})  # the tutorial's 0.5–2 s between readings
        while True:
            reading = sensor.read(now_ms())
            timestamp = datetime.fromtimestamp(reading.t / 1000, tz=UTC).isoformat()
            await self.reply({**reading.values, "timestamp": timestamp})
            await asyncio.sleep(sensor.interval_ms() / 1000)
