"""The channel layers Channels sees: its layer interface over a hub and a broker.

`InProcessLayer` (one process, no REDIS_URL) hands a group's message straight to
the hub; `RedisLayer` (a cluster) publishes it once through Redis and every web
process's hub hands it on. Both implement Channels' layer interface (send,
receive, new_channel, the "groups" and "flush" extensions, `capacity`,
`channel_capacity` and `expiry`) and two methods of Pulseboard's consumers:

- `attach(channel, deliver=None)` returns the channel's queue of `(expires,
  message)` for its consumer to read itself, its client's messages put in the
  same line. `deliver(message)`, when given, is offered each message first and
  returns True when it took it (see `Hub.to_group`). Attached channels never
  expire; their capacity bounds them.
- `detach(channel)` ends that: the channel leaves its groups and is forgotten.

A `receive` cancelled while nothing else waits on its channel (Channels' own
consumer loop ends so) gives the channel up in the same way. Group membership
does not expire: members leave when they disconnect, or when their messages
expire unread.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from channels.layers import BaseChannelLayer

from streams.fanout.broker import Broker
from streams.fanout.broker_memory import MemoryBroker
from streams.fanout.broker_redis import RedisBroker
from streams.fanout.hub import Deliver, Hub, Item, Message


class Parts:
    """A hub and its broker, told of the channels and groups the hub's sweep forgot."""

    def __init__(self, hub: Hub, broker: Broker):
        self.hub, self.broker = hub, broker
        hub.released = self.released
        self.guard: AsyncGenerator[None, None] | None = None  # see `RedisLayer.parts`
        self.starting: asyncio.Future[None] | None = None

    def released(self, channels: list[str], groups: list[str]) -> None:
        self.broker.unlisten(groups=groups, channels=channels)


class FanoutLayer(BaseChannelLayer):
    extensions = ["groups", "flush"]

    def __init__(
        self,
        expiry: float = 60,
        capacity: int = 100,
        channel_capacity: Mapping[Any, int] | None = None,
    ):
        super().__init__(expiry=expiry, capacity=capacity)
        # (Channels' base keeps the mapping as given; `get_capacity` wants it compiled.)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})

    def parts(self) -> Parts:
        """Return the hub and broker of the running event loop."""
        raise NotImplementedError

    def new_hub(self) -> Hub:
        return Hub(self.get_capacity, self.expiry)

    async def new_channel(self, prefix: str = "specific.") -> str:
        channel = f"{prefix}{uuid.uuid4().hex}"
        parts = self.parts()
        parts.hub.mailbox(channel)
        try:
            await parts.broker.listen(channels=[channel])
        except BaseException:
            await self.detach(channel)
            raise
        return channel

    async def send(self, channel: str, message: Message) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        await self.parts().broker.send(channel, message)

    async def group_send(self, group: str, message: Message) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        await self.parts().broker.group_send(group, message)

    async def receive(self, channel: str) -> Message:
        self.require_valid_channel_name(channel, receive=True)
        parts = self.parts()
        hub = parts.hub
        box = hub.mailboxes.get(channel)
        if box is None:
            box = hub.mailbox(channel)
            try:
                await parts.broker.listen(channels=[channel])
            except BaseException:
                await self.detach(channel)
                raise
        hub.sweep_due()
        box.idle = False
        box.receivers += 1
        try:
            _, message = await box.queue.get()
        except asyncio.CancelledError:
            if box.receivers == 1 and not box.attached and hub.mailboxes.get(channel) is box:
                await self.detach(channel)
            raise
        finally:
            box.receivers -= 1
        return message

    async def group_add(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        parts = self.parts()
        new_channel = channel not in parts.hub.mailboxes
        first = parts.hub.join(group, channel)
        # On failure the membership stays, and the broker listens again once it can.
        await parts.broker.listen(
            groups=[group] if first else [], channels=[channel] if new_channel else []
        )

    async def group_discard(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.require_valid_channel_name(channel)
        parts = self.parts()
        if parts.hub.leave(group, channel):
            parts.broker.unlisten(groups=[group])

    def attach(self, channel: str, deliver: Deliver | None = None) -> asyncio.Queue[Item]:
        """Return the channel's queue for its consumer to read; keep it until `detach`."""
        # (A channel of `new_channel`, which already listens to other processes.)
        return self.parts().hub.attach(channel, deliver)

    async def detach(self, channel: str) -> None:
        """Forget the channel: it leaves its groups and nothing more is queued for it."""
        parts = self.parts()
        emptied = parts.hub.forget(channel)
        parts.broker.unlisten(groups=emptied, channels=[channel])

    async def flush(self) -> None:
        """Forget every channel and group, as new."""
        parts = self.parts()
        parts.hub.clear()
        await parts.broker.close()


class InProcessLayer(FanoutLayer):
    """The layer of one process: a message goes from `group_send` straight to the hub."""

    def __init__(self, **config: Any):
        super().__init__(**config)
        hub = self.new_hub()
        self.only = Parts(hub, MemoryBroker(hub))

    def parts(self) -> Parts:
        return self.only


class RedisLayer(FanoutLayer):
    """The layer of a cluster: Redis carries messages between processes.

    Each event loop has its own hub and broker (connections belong to a loop);
    they are closed when the loop shuts down (sync code sends through a new
    loop each time) or when the layer is flushed or dropped.
    """

    def __init__(
        self,
        url: str,
        options: Mapping[str, Any] | None = None,
        prefix: str = "asgi",
        **config: Any,
    ):
        super().__init__(**config)
        self.url, self.options, self.prefix = url, dict(options or {}), prefix
        self.loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Parts] = (
            weakref.WeakKeyDictionary()
        )

    def parts(self) -> Parts:
        loop = asyncio.get_running_loop()
        parts = self.loops.get(loop)
        if parts is None:
            hub = self.new_hub()
            parts = self.loops[loop] = Parts(
                hub, RedisBroker(hub, self.url, self.options, self.prefix)
            )
            parts.guard = self.open_until_closed(loop, parts)
            parts.starting = asyncio.ensure_future(started(parts.guard))
        return parts

    async def open_until_closed(
        self, loop: asyncio.AbstractEventLoop, parts: Parts
    ) -> AsyncGenerator[None, None]:
        """Close the loop's connections when it shuts down, or when the layer is dropped.

        An event loop closes the async generators still open when it shuts down
        (`asyncio.run` does), and one that is garbage-collected is closed in its
        loop: either way this `finally` runs there.
        """
        try:
            yield
        finally:
            if self.loops.get(loop) is parts:
                del self.loops[loop]
            await parts.broker.close()

    async def flush(self) -> None:
        """Forget every channel and group of this event loop, and close its connections."""
        loop = asyncio.get_running_loop()
        parts = self.loops.pop(loop, None)
        if parts is None:
            return
        parts.hub.clear()
        if parts.guard is not None:
            await parts.guard.aclose()
        await parts.broker.close()  # (again, if the guard had not started yet)


async def started(generator: AsyncGenerator[None, None]) -> None:
    """Run an async generator to its first `yield`, unless it was closed meanwhile."""
    with contextlib.suppress(StopAsyncIteration):
        await anext(generator)
