"""/ws/data/: the start/stop sensor feed that many WebSocket tutorials use.

Each connection gets its own sensor; `{"action": "start_stream"}` starts it and
`{"action": "stop_stream"}` stops it. Nothing here touches stored streams.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from streams.clock import now_ms
from streams.live.limits import CommandBudget
from streams.metrics import metric_inc
from streams.sources.sensor import SensorSource

FEED_INTERVAL_SECONDS = 1.0


class DataConsumer(AsyncWebsocketConsumer):
    feed: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            metric_inc("pulseboard_connections_refused_total", reason="unauthenticated")
            await self.close()
            return
        self.budget = CommandBudget(
            settings.PULSEBOARD_COMMANDS_PER_SECOND, settings.PULSEBOARD_COMMAND_BURST
        )
        await self.accept()

    async def disconnect(self, code: int) -> None:
        self.stop_feed()

    async def reply(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
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
            if self.feed is None:
                self.feed = asyncio.create_task(self.run_feed())
            await self.reply({"status": "started"})
        elif action == "stop_stream":
            self.stop_feed()
            await self.reply({"status": "stopped"})
        else:
            await self.reply({"error": "Unknown action; use start_stream or stop_stream"})

    def stop_feed(self) -> None:
        if self.feed is not None:
            self.feed.cancel()
            self.feed = None

    async def run_feed(self) -> None:
        sensor = SensorSource(
            {"min_interval": FEED_INTERVAL_SECONDS, "max_interval": FEED_INTERVAL_SECONDS}
        )
        while True:
            reading = sensor.read(now_ms())
            timestamp = datetime.fromtimestamp(reading.t / 1000, tz=UTC).isoformat()
            await self.reply({**reading.values, "timestamp": timestamp})
            await asyncio.sleep(FEED_INTERVAL_SECONDS)
