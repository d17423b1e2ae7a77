"""The Redis channel layer of a cluster: channels_redis' pub/sub layer, made for fan-out.

channels_redis' `RedisPubSubChannelLayer` costs one PUBLISH per group message
whatever the number of members (why it is the layer of a cluster), but inside a
web process it hands every member the raw bytes to decode, keeps unbounded
queues (a client that stops reading grows the server's memory) and needs
Channels' two-task consumer loop. This layer keeps its wire format and changes
what happens in the process:

- a message from Redis is decoded once and the same object goes to every member
  (handlers treat messages as read-only, as Pulseboard's do);
- each channel's queue is bounded (`capacity`); a message for a full queue is
  dropped and counted, and the consumer fills the hole from history;
- a consumer may `attach` to its channel and read the queue itself, with its
  client's messages in the same line, and take a message at once when nothing
  waits before it, as on `LocalChannelLayer`;
- a failed subscribe or unsubscribe drops the shard's connection and subscribes
  again, on a fresh one, to everything this process still listens to, until
  Redis answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close, decode_hosts
from redis.exceptions import ConnectionError as RedisConnectionError

from streams.live.layers import Deliver
from streams.metrics import metric_inc

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 500
RESUBSCRIBE_DELAY = 0.5
Queue = asyncio.Queue[tuple[float, dict[str, Any]]]


class FanoutShardConnection(RedisSingleShardConnection):
    """One Redis connection of a process: decodes once, delivers into bounded queues."""

    channel_layer: FanoutLoopLayer

    def _receive_message(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        members = layer.groups.get(name) or ((name,) if name in layer.channels else ())
        if not members:
            return
        decoded = layer.channel_layer.deserialize(message["data"])
        item = (time.time(), decoded)
        direct = layer.direct
        for channel in members:
            deliver = direct.get(channel)
            if deliver is not None and deliver(decoded):
                continue
            queue = layer.channels.get(channel)
            if queue is None:
                continue
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                metric_inc("pulseboard_frames_dropped_total")

    def __init__(self, host: Any, channel_layer: FanoutLoopLayer):
        super().__init__(host, channel_layer)
        # What this process listens to, whatever becomes of the connection: a
        # subscribe that lands on the old connection just before it is dropped
        # is taken again all the same.
        self.wanted: set[str] = set()
        self.resubscriber: asyncio.Task[None] | None = None

    async def subscribe(self, channel: str) -> None:
        self.wanted.add(channel)
        try:
            await super().subscribe(channel)
        except RedisConnectionError:
            # A connection from before a Redis restart fails once: retry on a fresh one.
            await self.reset()
            await super().subscribe(channel)
        except Exception:
            await self.reset()
            raise

    async def publish(self, channel: str, message: bytes) -> None:
        try:
            await super().publish(channel, message)
        except RedisConnectionError:
            # (A timeout is a Redis that hangs: waiting twice would not help.)
            await self.reset()
            await super().publish(channel, message)

    async def unsubscribe(self, channel: str) -> None:
        self.wanted.discard(channel)
        try:
            await super().unsubscribe(channel)
        except Exception:
            # Redis is away: the failed connection goes, and this subscription with it.
            await self.reset()

    async def flush(self) -> None:
        """The layer's flush: listen to nothing, as new."""
        self.wanted.clear()
        await super().flush()

    async def reset(self) -> None:
        """Drop a connection that failed and subscribe again, on a fresh one, to all wanted."""
        await super().flush()
        if self.resubscriber is None or self.resubscriber.done():
            self.resubscriber = asyncio.ensure_future(self.resubscribe())

    async def resubscribe(self) -> None:
        while missing := self.wanted - self._subscribed_to:
            try:
                for name in missing:
                    if name in self.wanted:
                        await super().subscribe(name)
            except Exception:
                await super().flush()
                await asyncio.sleep(RESUBSCRIBE_DELAY)


class FanoutLoopLayer(RedisPubSubLoopLayer):
    def __init__(
        self, hosts: Any = None, *args: Any, capacity: int = DEFAULT_CAPACITY, **kwargs: Any
    ) -> None:
        super().__init__(hosts, *args, **kwargs)
        self.capacity = capacity
        self.direct: dict[str, Deliver] = {}
        self.channels: dict[str, Queue]
        self.groups: dict[str, set[str]]
        self._shards = [FanoutShardConnection(host, self) for host in decode_hosts(hosts)]

    async def _subscribe_to_channel(self, channel: str) -> None:
        self.channels[channel] = asyncio.Queue(maxsize=self.capacity)
        shard = self._get_shard(channel)
        try:
            await shard.subscribe(channel)
        except Exception:
            # No queue, nothing to subscribe again to.
            del self.channels[channel]
            shard.wanted.discard(channel)
            raise

    async def receive(self, channel: str) -> dict[str, Any]:
        if channel not in self.channels:
            await self._subscribe_to_channel(channel)
        try:
            _, message = await self.channels[channel].get()
        except (asyncio.CancelledError, TimeoutError, GeneratorExit):
            await self.detach(channel)
            raise
        return message

    def attach(self, channel: str, deliver: Deliver | None = None) -> Queue:
        """Return the channel's queue for its consumer to read; keep it until `detach`.

        `deliver`, when given, is offered each message first (see `LocalChannelLayer.attach`).
        """
        if deliver is not None:
            self.direct[channel] = deliver
        return self.channels[channel]

    async def detach(self, channel: str) -> None:
        """Stop listening on the channel; its groups are left by the consumer."""
        self.direct.pop(channel, None)
        if self.channels.pop(channel, None) is None:
            return
        try:
            await self._get_shard(channel).unsubscribe(channel)
        except Exception:
            log.warning("could not unsubscribe %s from Redis", channel, exc_info=True)


class FanoutRedisLayer(RedisPubSubChannelLayer):
    """The layer to name in CHANNEL_LAYERS; one `FanoutLoopLayer` per event loop."""

    def _get_layer(self) -> FanoutLoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = FanoutLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer

    def attach(self, channel: str, deliver: Deliver | None = None) -> Queue:
        return self._get_layer().attach(channel, deliver)

    async def detach(self, channel: str) -> None:
        await self._get_layer().detach(channel)
