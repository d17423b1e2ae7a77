"""The broker of a single process: a message goes straight to the hub, nothing travels."""

from __future__ import annotations

from collections.abc import Iterable

from channels.exceptions import ChannelFull

from streams.fanout.hub import Hub, Message


class MemoryBroker:
    """Every listener is in this process, so listening costs nothing."""

    def __init__(self, hub: Hub):
        self.hub = hub

    async def group_send(self, group: str, message: Message) -> None:
        self.hub.to_group(group, message)

    async def send(self, channel: str, message: Message) -> None:
        # As with Channels' in-memory layer, a channel nobody reads yet keeps its messages.
        if not self.hub.to_channel(channel, message, make=True):
            raise ChannelFull(channel)

    async def listen(self, *, groups: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
        return None

    def unlisten(self, *, groups: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
        return None

    async def close(self) -> None:
        return None
