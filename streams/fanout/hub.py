"""Who watches what in this process, and the one step that hands them a message.

A channel (one consumer) has a mailbox: a bounded queue of `(expires, message)`
items. Groups map to their member mailboxes. A message for a group goes to each
member in one pass: a member attached with a `deliver` callback may take it at
once (it returns True when it did); otherwise it is queued, as the same object
for every member (handlers treat messages as read-only), and a full queue drops
it and counts the drop (the consumer refills the hole from history).

Messages of channels nobody has attached expire: at most once a second a sweep
drops what is past its expiry (the channel then leaves its groups, as Channels'
layers do with a consumer that stopped reading) and forgets mailboxes left idle
with nothing queued, nobody waiting and no group. Attached channels never
expire; their capacity bounds them and `forget` ends them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from streams.metrics import metric_inc

log = logging.getLogger(__name__)

Message = dict[str, Any]
Item = tuple[float, Message]
# A consumer's way to take a message at once; False has it queued.
Deliver = Callable[[Message], bool]
# Told the channels and groups this process no longer has (a sweep forgot them).
Released = Callable[[list[str], list[str]], None]

SWEEP_SECONDS = 1.0


class Mailbox:
    """One channel's queue, its deliver callback, and the groups it is in."""

    __slots__ = ("attached", "deliver", "groups", "idle", "queue", "receivers")

    def __init__(self, capacity: int):
        self.queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=capacity)
        self.deliver: Deliver | None = None
        self.attached = False
        self.groups: set[str] = set()
        self.receivers = 0  # `receive` calls waiting on the queue
        self.idle = False  # nothing happened to it since the last sweep found it idle


class Hub:
    """The channels and groups of one process, and the deliver-or-queue step."""

    def __init__(
        self,
        capacity: Callable[[str], int],
        expiry: float,
        released: Released | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.capacity = capacity
        self.expiry = expiry
        self.released = released
        self.clock = clock
        self.mailboxes: dict[str, Mailbox] = {}
        self.loose: dict[str, Mailbox] = {}  # the unattached ones, which the sweep looks at
        self.groups: dict[str, dict[str, Mailbox]] = {}
        self.next_sweep = 0.0

    def mailbox(self, channel: str) -> Mailbox:
        """Return the channel's mailbox, made on first use."""
        box = self.mailboxes.get(channel)
        if box is None:
            box = self.mailboxes[channel] = self.loose[channel] = Mailbox(self.capacity(channel))
        box.idle = False
        return box

    def attach(self, channel: str, deliver: Deliver | None) -> asyncio.Queue[Item]:
        """Return the channel's queue for its consumer to read until `forget`."""
        box = self.mailbox(channel)
        box.attached, box.deliver = True, deliver
        self.loose.pop(channel, None)
        return box.queue

    def join(self, group: str, channel: str) -> bool:
        """Add the channel to the group; return whether it is the group's first member here."""
        box = self.mailbox(channel)
        members = self.groups.get(group)
        first = members is None
        if members is None:
            members = self.groups[group] = {}
        members[channel] = box
        box.groups.add(group)
        return first

    def leave(self, group: str, channel: str) -> bool:
        """Take the channel out of the group; return whether the group has no member left here."""
        box = self.mailboxes.get(channel)
        if box is not None:
            box.groups.discard(group)
        members = self.groups.get(group)
        if members is None or members.pop(channel, None) is None or members:
            return False
        del self.groups[group]
        return True

    def forget(self, channel: str) -> list[str]:
        """Drop the channel and its memberships; return the groups left with no member here."""
        box = self.mailboxes.pop(channel, None)
        self.loose.pop(channel, None)
        if box is None:
            return []
        emptied = [group for group in list(box.groups) if self.leave(group, channel)]
        box.groups.clear()
        return emptied

    def to_group(self, group: str, message: Message) -> None:
        """Hand a group's message to every member here: at once where taken, else queued."""
        members = self.groups.get(group)
        if not members:
            return
        now = self.clock()
        if now >= self.next_sweep:
            self.sweep(now)
            members = self.groups.get(group)
            if not members:
                return
        item = (now + self.expiry, message)
        dropped = 0
        for box in members.values():
            deliver = box.deliver
            if deliver is not None:
                try:
                    if deliver(message):
                        continue
                except Exception:
                    # One consumer's fault must not cost the others their message.
                    log.exception("a consumer failed to take a message; it is queued")
            # (try/except, not contextlib.suppress: this runs per member per frame)
            try:
                box.queue.put_nowait(item)
            except asyncio.QueueFull:
                dropped += 1  # that member is behind; it refills from history
        if dropped:
            metric_inc("pulseboard_frames_dropped_total", dropped)

    def to_channel(self, channel: str, message: Message, *, make: bool) -> bool:
        """Queue a message for one channel (made when `make`); False when its queue is full."""
        box = self.mailbox(channel) if make else self.mailboxes.get(channel)
        if box is None:
            return True  # nobody here listens to it any more
        box.idle = False
        now = self.clock()
        if now >= self.next_sweep:
            self.sweep(now)
        try:
            box.queue.put_nowait((now + self.expiry, message))
        except asyncio.QueueFull:
            return False
        return True

    def sweep_due(self) -> None:
        """Sweep if the last sweep was a second ago or more."""
        now = self.clock()
        if now >= self.next_sweep:
            self.sweep(now)

    def sweep(self, now: float) -> None:
        """Drop expired messages of unattached channels; forget those idle since the last sweep."""
        self.next_sweep = now + SWEEP_SECONDS
        gone: list[str] = []
        emptied: list[str] = []
        for channel, box in list(self.loose.items()):
            queue = box.queue
            if not queue.empty():
                box.idle = False
                items = [queue.get_nowait() for _ in range(queue.qsize())]
                for item in items:
                    if item[0] >= now:
                        queue.put_nowait(item)
                if queue.qsize() < len(items):
                    # A consumer that lets messages expire has gone: it leaves its groups.
                    emptied += [group for group in list(box.groups) if self.leave(group, channel)]
            elif box.receivers or box.groups:
                box.idle = False
            elif box.idle:
                gone.append(channel)
                emptied += self.forget(channel)
            else:
                box.idle = True  # forgotten at the next sweep if it stays so
        if (gone or emptied) and self.released is not None:
            self.released(gone, emptied)

    def clear(self) -> None:
        """Forget every channel and group."""
        self.mailboxes.clear()
        self.loose.clear()
        self.groups.clear()
