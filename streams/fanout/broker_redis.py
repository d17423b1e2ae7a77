"""The broker of a cluster: Redis pub/sub through redis-py's public asyncio interface.

One PUBLISH per message, whatever the number of listeners. A group's messages
go on `<prefix>__group__<group>`, one channel's on the channel's own name, packed
with msgpack: the names and format of channels_redis' pub/sub layer, so the
processes of a cluster hear each other while an upgrade replaces them one by one.

Each process (each event loop) keeps one pub/sub connection, subscribed to the
groups its channels are in and to its channels, and one task that reads it,
decodes each message once and hands it to the hub. What the process listens to
is a wanted set; `sync` makes the connection match it, one change at a time, so
a join and a leave that race end as the last one asked. A connection that fails
(Redis restarted, or away) is dropped, and a fresh one subscribes again to
everything wanted, every RESUBSCRIBE_DELAY seconds until Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any

import msgpack
from redis.asyncio.client import PubSub

from streams.fanout.hub import Hub, Message
from streams.fanout.redis_connection import redis_client
from streams.metrics import metric_inc

log = logging.getLogger(__name__)

RESUBSCRIBE_DELAY = 0.5
# How long one read of the pub/sub connection waits before looking again (health checks).
READ_WAIT = 1.0


class RedisBroker:
    """Publishes to Redis and hears, on one pub/sub connection, what this process listens to."""

    def __init__(self, hub: Hub, url: str, options: Mapping[str, Any], prefix: str = "asgi"):
        self.hub = hub
        self.publisher = redis_client(url, options, retry_once=True)
        self.listener = redis_client(url, options, retry_once=False)
        self.group_prefix = f"{prefix}__group__"
        self.group_prefix_bytes = self.group_prefix.encode()
        self.wanted: set[str] = set()
        self.subscribed: set[str] = set()  # on the current pub/sub connection
        self.pubsub: PubSub | None = None
        self.changing = asyncio.Lock()  # one change of subscriptions at a time
        self.publishing = asyncio.Lock()  # messages leave in the order they were sent
        self.readable = asyncio.Event()  # something is subscribed: the reader may read
        self.reader: asyncio.Task[None] | None = None
        self.healer: asyncio.Task[None] | None = None
        self.background: set[asyncio.Task[None]] = set()

    def topics(self, groups: Iterable[str], channels: Iterable[str]) -> set[str]:
        return {self.group_prefix + group for group in groups} | set(channels)

    async def group_send(self, group: str, message: Message) -> None:
        await self.publish(self.group_prefix + group, message)

    async def send(self, channel: str, message: Message) -> None:
        await self.publish(channel, message)

    async def publish(self, topic: str, message: Message) -> None:
        data = msgpack.packb(message)
        async with self.publishing:
            await self.publisher.publish(topic, data)

    async def listen(self, *, groups: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
        topics = self.topics(groups, channels)
        if not topics:
            return
        self.wanted |= topics
        try:
            await self.sync()
        except Exception:
            # A connection from before a Redis restart fails once: again on a fresh one.
            await self.sync()  # (a failure has the broker heal in the background)

    def unlisten(self, *, groups: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
        topics = self.topics(groups, channels)
        self.wanted -= topics
        if self.subscribed & topics:
            self.spawn(self.sync_quietly())

    async def sync(self) -> None:
        """Subscribe to what is wanted and not subscribed, unsubscribe from the rest."""
        async with self.changing:
            pubsub = self.pubsub
            if pubsub is None:
                pubsub = self.pubsub = self.listener.pubsub()
            missing, extra = self.wanted - self.subscribed, self.subscribed - self.wanted
            try:
                if missing:
                    await pubsub.subscribe(*missing)
                    self.subscribed |= missing
                    self.readable.set()
                    if self.reader is None or self.reader.done():
                        self.reader = asyncio.ensure_future(self.read())
                if extra:
                    await pubsub.unsubscribe(*extra)
                    self.subscribed -= extra
            except BaseException:
                # Half a command may have gone (or it was cancelled): start afresh.
                self.drop(pubsub)
                raise

    async def sync_quietly(self) -> None:
        with contextlib.suppress(Exception):
            await self.sync()  # (a failure has the broker heal in the background)

    def drop(self, pubsub: PubSub) -> None:
        """Let go of a pub/sub connection that failed, and listen again on a fresh one."""
        if self.pubsub is pubsub:
            self.pubsub, self.subscribed = None, set()
            self.spawn(self.close_quietly(pubsub))
            self.heal_later()

    def heal_later(self) -> None:
        """Have everything wanted subscribed again, in the background, until Redis answers."""
        if self.wanted and (self.healer is None or self.healer.done()):
            self.healer = asyncio.ensure_future(self.heal())

    async def heal(self) -> None:
        while True:
            try:
                await self.sync()
                return
            except Exception:
                await asyncio.sleep(RESUBSCRIBE_DELAY)

    async def read(self) -> None:
        """Hand every message heard to the hub; on a failed connection, heal and go on."""
        while True:
            pubsub = self.pubsub
            if pubsub is None or not self.subscribed:
                self.readable.clear()
                await self.readable.wait()
                continue
            try:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=READ_WAIT
                )
            except Exception as error:
                if pubsub is self.pubsub:
                    log.warning("Redis pub/sub connection lost (%s); listening again", error)
                    self.drop(pubsub)
                continue
            if message is not None and message["type"] == "message":
                try:
                    self.heard(message["channel"], message["data"])
                except Exception:
                    log.exception("a message from Redis could not be handed on")

    def heard(self, topic: bytes, data: bytes) -> None:
        """Decode a message once, if anyone here still wants it, and hand it to the hub."""
        hub = self.hub
        if topic.startswith(self.group_prefix_bytes):
            group = topic[len(self.group_prefix_bytes) :].decode()
            if group in hub.groups:
                hub.to_group(group, msgpack.unpackb(data))
        else:
            channel = topic.decode()
            if channel in hub.mailboxes and not hub.to_channel(
                channel, msgpack.unpackb(data), make=False
            ):
                metric_inc("pulseboard_frames_dropped_total")

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    @staticmethod
    async def close_quietly(pubsub: PubSub) -> None:
        with contextlib.suppress(Exception):
            await pubsub.aclose()

    async def close(self) -> None:
        self.wanted.clear()
        tasks = [task for task in (self.reader, self.healer, *self.background) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.reader = self.healer = None
        pubsub, self.pubsub, self.subscribed = self.pubsub, None, set()
        if pubsub is not None:
            await self.close_quietly(pubsub)
        for client in (self.publisher, self.listener):
            with contextlib.suppress(Exception):
                await client.aclose()
