"""A WebSocket consumer with a cheaper path for channel-layer events than Channels' own.

Live fan-out sends one frame per stream per tick to every watching socket, so
what Channels does around each message is paid hundreds of times per tick:

- `dispatch` closes stale database connections before every handler, a trip to
  the sync thread. Events named in `database_free_events` skip it; their
  handlers never touch the database (or do it through `database_sync_to_async`,
  which does its own connection upkeep).
- The consumer loop waits on two tasks (client and layer) per message and starts
  a new task for each. On Pulseboard's layers (`LocalChannelLayer`, and
  `FanoutRedisLayer` of a cluster) the consumer reads its channel's queue itself
  instead, and a small task forwards what the client sends into the same queue
  (`run_attached`). Other layers use Channels' loop.

When the channel layer cannot give the socket a channel (Redis is away), the
handshake is refused with close code 1013 (try again later) and counted; the
client's reconnect with backoff finds it back.

`release()` runs once however the consumer ends, including when the server
cancels it a few seconds after its client left.
"""

from __future__ import annotations

import asyncio
import functools
import math
from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from streams.live.protocol import CLOSE_TRY_AGAIN_LATER
from streams.metrics import metric_inc


class FanoutConsumer(AsyncWebsocketConsumer):
    database_free_events: frozenset[str] = frozenset()

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

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in self.database_free_events:
            await getattr(self, kind.replace(".", "_"))(message)
        else:
            await super().dispatch(message)

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
        self.base_send = send
        inbox = layer.attach(self.channel_name)

        async def forward() -> None:
            while True:
                message = await receive()
                await inbox.put((math.inf, message))
                if message["type"] == "websocket.disconnect":
                    return

        reader = asyncio.ensure_future(forward())
        try:
            while True:
                _, message = await inbox.get()
                await self.dispatch(message)
        except StopConsumer:
            pass
        finally:
            reader.cancel()
            await layer.detach(self.channel_name)
