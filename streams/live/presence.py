"""Who is connected to this process, which streams they watch, and telling them.

`presence` holds this process's sockets (the census adds the other processes'
shares); `announcer` sends a stream's watchers its counts as `presence` frames,
coalesced so that a crowd joining at once costs about two frames per viewer.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from streams.metrics import metric_set
from streams.publishing import send_stream_presence

log = logging.getLogger(__name__)

# A stream's viewers hear about joins and leaves at most this often from one process:
# in a reconnect storm every join changes the counts of the eight streams a page
# watches, each told to every viewer (docs/performance.md, "Reconnect storms").
ANNOUNCE_INTERVAL = 1.0

# slug → the stream's counts to announce (the census's: every process's watchers)
StreamCounts = Callable[[str], Awaitable[dict[str, int]]]


@dataclass
class Presence:
    """Connections per user and watchers per stream, kept for this process."""

    # channel name → viewer key ("user:<id>", or "link:<dashboard id>" for link holders)
    connections: dict[str, str] = field(default_factory=dict)
    watchers: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    per_viewer: Counter[str] = field(default_factory=Counter)

    def connection_count(self, viewer: str) -> int:
        return self.per_viewer[viewer]

    def connect(self, channel: str, viewer: str) -> None:
        if channel not in self.connections:
            self.per_viewer[viewer] += 1
        self.connections[channel] = viewer
        self._publish_gauges()

    def disconnect(self, channel: str) -> list[str]:
        """Forget a connection; return the streams it was watching."""
        viewer = self.connections.pop(channel, None)
        if viewer is not None:
            self.per_viewer[viewer] -= 1
            if not self.per_viewer[viewer]:
                del self.per_viewer[viewer]
        left = [
            slug
            for slug, watchers in self.watchers.items()
            if watchers.pop(channel, None) is not None
        ]
        for slug in left:
            if not self.watchers[slug]:
                del self.watchers[slug]
        self._publish_gauges()
        return left

    def watch(self, slug: str, channel: str, viewer: str) -> None:
        self.watchers[slug][channel] = viewer
        self._publish_gauges()

    def unwatch(self, slug: str, channel: str) -> None:
        watchers = self.watchers.get(slug, {})
        watchers.pop(channel, None)
        if not watchers:
            self.watchers.pop(slug, None)
        self._publish_gauges()

    def viewers(self, slug: str) -> dict[str, int]:
        """Return the stream's live counts: connections and distinct viewers."""
        watchers = self.watchers.get(slug, {})
        return {"connections": len(watchers), "users": len(set(watchers.values()))}

    def reset(self) -> None:
        self.connections.clear()
        self.watchers.clear()
        self.per_viewer.clear()

    def subscription_count(self) -> int:
        return sum(len(watchers) for watchers in self.watchers.values())

    def _publish_gauges(self) -> None:
        metric_set("pulseboard_connections", len(self.connections))
        metric_set("pulseboard_subscriptions", self.subscription_count())


presence = Presence()


class Announcer:
    """Tells a stream's viewers how many watch it, at most once per interval.

    The first change after a quiet interval goes out at once; changes within the
    interval are folded into one trailing announcement with the counts of that
    moment (up to a quarter interval later). N viewers joining together cost
    about 2 N frames, not N².
    """

    def __init__(self, interval: float = ANNOUNCE_INTERVAL) -> None:
        self.interval = interval
        self.last: dict[str, float] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}

    def reset(self) -> None:
        for task in self.pending.values():
            task.cancel()
        self.pending.clear()
        self.last.clear()

    async def announce(self, layer: Any, slug: str, counts: StreamCounts) -> None:
        """Send the stream's `counts(slug)` now, or fold this change into a trailing frame."""
        loop = asyncio.get_running_loop()
        task = self.pending.get(slug)
        if task is not None and not task.done() and task.get_loop() is loop:
            return  # the trailing announcement will carry this change
        now, earliest = loop.time(), self.last.get(slug, -math.inf) + self.interval
        if earliest <= now:
            self.last[slug] = now
            await self.send(layer, slug, counts)
        else:
            # Trailing announcements fall on a grid of quarter intervals, so those of the
            # streams a page watches leave in the same moment: one write to each viewer
            # for all of them (`WriteBatch`), not one per stream.
            step = self.interval / 4
            due = math.ceil(earliest / step) * step
            self.pending[slug] = loop.create_task(self.trailing(layer, slug, counts, due - now))

    async def trailing(self, layer: Any, slug: str, counts: StreamCounts, wait: float) -> None:
        await asyncio.sleep(wait)
        self.pending.pop(slug, None)
        self.last[slug] = asyncio.get_running_loop().time()
        await self.send(layer, slug, counts)

    @staticmethod
    async def send(layer: Any, slug: str, counts: StreamCounts) -> None:
        """Tell the stream's viewers its counts; a layer that fails (Redis away) is logged."""
        try:
            await send_stream_presence(layer, slug=slug, **await counts(slug))
        except Exception:
            log.warning("Presence of %s could not be announced", slug, exc_info=True)


announcer = Announcer()
