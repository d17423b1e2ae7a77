"""What a broker does: carry a layer's messages to every process that listens for them.

A process listens to the groups its channels are in and to its channels (for
messages sent to one channel); the broker hands what it hears to the process's
hub. The in-process broker (`broker_memory.py`) hands a message straight to the
hub; the Redis broker (`broker_redis.py`) publishes it once, whatever the
number of listeners, and every listening process hears it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from streams.fanout.hub import Message


class Broker(Protocol):
    async def group_send(self, group: str, message: Message) -> None:
        """Carry a message to every member of the group, in every process."""

    async def send(self, channel: str, message: Message) -> None:
        """Carry a message to the process that listens on the channel."""

    async def listen(self, *, groups: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
        """Start hearing these groups' and channels' messages; raise if that failed.

        A name whose listening failed stays wanted: a broker that can heal
        listens to it again as soon as it can.
        """

    def unlisten(self, *, groups: Iterable[str] = (), channels: Iterable[str] = ()) -> None:
        """Stop hearing these names (done in the background; never raises)."""

    async def close(self) -> None:
        """Stop hearing anything and let go of connections; the broker may be used again."""
