"""The in-process channel layer of a single web process (no REDIS_URL).

Channels' `InMemoryChannelLayer` deep-copies every message for every member,
starts a task per member on each `group_send`, builds a new queue after each
`receive` and scans every queue for expired messages on every call. With one
frame per stream per tick going to hundreds of sockets, those costs were most of
the server's CPU. This layer keeps the same behaviour for Pulseboard's use:

- a group message is put, as the same object, into each member's queue at once
  (handlers must treat messages as read-only, as Pulseboard's do);
- a full queue drops that member's message (`ChannelFull` for a direct send),
  and the consumer fills the hole from history;
- expired messages are dropped, and their channel leaves its groups, by a sweep
  that runs at most once a second; group membership does not expire (members
  leave their groups when they disconnect);
- a consumer may `attach` to its channel and read the queue itself, with its
  client's messages put in the same line (see `FanoutConsumer.run_attached`):
  one queue read per message instead of a task and a wait on two of them.
  Attached channels are never swept; their capacity bounds them. A consumer
  that waits with nothing queued may take a group message at once, inside
  `group_send` (`FanoutConsumer.deliver`): no queue, no task switch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

from streams.metrics import metric_inc

SWEEP_SECONDS = 1.0
# A consumer's way to take a group message at once (see `attach`).
Deliver = Callable[[dict[str, Any]], bool]


class LocalChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels: dict[str, asyncio.Queue[tuple[float, dict[str, Any]]]]
        self.groups: dict[str, dict[str, float]]
        self.next_sweep = 0.0
        self.attached: dict[str, Deliver | None] = {}

    def queue(self, channel: str) -> asyncio.Queue[tuple[float, dict[str, Any]]]:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    def attach(
        self, channel: str, deliver: Deliver | None = None
    ) -> asyncio.Queue[tuple[float, dict[str, Any]]]:
        """Return the channel's queue for its consumer to read; keep it until `detach`.

        `deliver(message)`, when given, is offered each group message first; it
        returns True when it handled the message, False to have it queued.
        """
        self.attached[channel] = deliver
        return self.queue(channel)

    async def detach(self, channel: str) -> None:
        self.attached.pop(channel, None)
        self.channels.pop(channel, None)
        self._remove_from_groups(channel)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        try:
            self.queue(channel).put_nowait((time.time() + self.expiry, message))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        self.sweep()
        expires = time.time() + self.expiry
        attached = self.attached
        for channel in self.groups.get(group, ()):
            deliver = attached.get(channel)
            if deliver is not None and deliver(message):
                continue
            # (try/except, not contextlib.suppress: this loop runs per member per frame)
            try:
                self.queue(channel).put_nowait((expires, message))
            except asyncio.QueueFull:
                # That member is behind; it refills from history.
                metric_inc("pulseboard_frames_dropped_total")

    async def receive(self, channel: str) -> dict[str, Any]:
        self.require_valid_channel_name(channel)
        self.sweep()
        _, message = await self.queue(channel).get()
        return message

    def sweep(self) -> None:
        """Drop expired messages and idle empty queues, at most once a second."""
        now = time.time()
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_SECONDS
        for channel, queue in list(self.channels.items()):
            if channel in self.attached:
                continue
            expired = False
            while not queue.empty() and queue._queue[0][0] < now:  # type: ignore[attr-defined]
                queue.get_nowait()
                expired = True
            if expired:
                self._remove_from_groups(channel)
            if queue.empty() and not queue._getters:  # type: ignore[attr-defined]
                del self.channels[channel]

    def _clean_expired(self) -> None:
        self.sweep()

    async def flush(self) -> None:
        await super().flush()
        self.attached.clear()
