"""Who is connected to this process and which streams they watch."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from streams.metrics import metric_set


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
