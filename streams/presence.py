"""Who is connected to this process and which streams they watch."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from streams.metrics import metric_set


@dataclass
class Presence:
    """Connections per user and watchers per stream, kept for this process."""

    # channel name → viewer key ("user:<id>", or "link:<dashboard id>" for link holders)
    connections: dict[str, str] = field(default_factory=dict)
    watchers: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def connection_count(self, viewer: str) -> int:
        return sum(1 for key in self.connections.values() if key == viewer)

    def connect(self, channel: str, viewer: str) -> None:
        self.connections[channel] = viewer
        self._publish_gauges()

    def disconnect(self, channel: str) -> list[str]:
        """Forget a connection; return the streams it was watching."""
        self.connections.pop(channel, None)
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

    def subscription_count(self) -> int:
        return sum(len(watchers) for watchers in self.watchers.values())

    def _publish_gauges(self) -> None:
        metric_set("pulseboard_connections", len(self.connections))
        metric_set("pulseboard_subscriptions", self.subscription_count())


presence = Presence()
