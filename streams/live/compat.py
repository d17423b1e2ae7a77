"""/ws/data/: the start/stop sensor feed that many WebSocket tutorials use.

Each connection gets its own sensor, read every 0.5–2 s like the tutorial's;
`{"action": "start_stream"}` starts it and `{"action": "stop_stream"}` stops it.
As in the tutorial, a web process serves at most `PULSEBOARD_DATA_MAX_CONNECTIONS`
connections and `PULSEBOARD_DATA_MAX_STREAMS` running feeds, and closes a
connection that sent nothing and ran no feed for `PULSEBOARD_DATA_IDLE_TIMEOUT`
seconds. Nothing here touches stored streams.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import ClassVar

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from streams.clock import now_ms
from streams.live.limits import CommandBudget
from streams.live.protocol import CLOSE_IDLE, CLOSE_TRY_AGAIN_LATER
from streams.metrics import metric_inc
from streams.sources.sensor import SensorSource

IDLE_CHECK_SECONDS = 1.0


class DataConsumer(AsyncWebsocketConsumer):
    feed: asyncio.Task[None] | None = None
    idle_watch: asyncio.Task[None] | None = None
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
        limit = settings.PULSEBOARD_DATA_MAX_CONNECTIONS
        if len(self.connections) >= limit:
            metric_inc("pulseboard_connections_refused_total", reason="data_connections")
            await self.reply({"error": f"Maximum connections reached ({limit}); try again later"})
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.connections.add(self)
        self.budget = CommandBudget(
            settings.PULSEBOARD_COMMANDS_PER_SECOND, settings.PULSEBOARD_COMMAND_BURST
        )
        self.last_message = time.monotonic()
        self.idle_watch = asyncio.create_task(self.watch_idle())

    async def disconnect(self, code: int) -> None:
        self.stop_feed()
        self.connections.discard(self)
        if self.idle_watch is not None:
            self.idle_watch.cancel()

    async def reply(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
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
                await self.reply({"error": f"Idle timeout: no message for {timeout:g} seconds"})
                await self.close(code=CLOSE_IDLE)
                return

    async def run_feed(self) -> None:
        sensor = SensorSource({})  # the tutorial's 0.5–2 s between readings
        while True:
            reading = sensor.read(now_ms())
            timestamp = datetime.fromtimestamp(reading.t / 1000, tz=UTC).isoformat()
            await self.reply({**reading.values, "timestamp": timestamp})
            await asyncio.sleep(sensor.interval_ms() / 1000)
