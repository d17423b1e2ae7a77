"""Which stream a topic feeds: a broker's routes, read once and matched per message.

The most specific filter wins: an exact topic before any wildcard, then the longer
filter. A topic's answer is remembered (bounded), so matching costs a dict look-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from paho.mqtt.client import topic_matches_sub

from devices.models import Route
from streams.models import SourceKind, Stream
from streams.producer.values import field_types

MAX_REMEMBERED_TOPICS = 10_000


@dataclass(frozen=True)
class Target:
    """Where one route's messages go."""

    topic: str
    stream: Stream
    field: str
    value_key: str

    # The stream was read with the table, and a change to it makes a new table
    # (`fingerprint`): what follows from it is worked out once, not per message.
    @cached_property
    def writable(self) -> str:
        """Return why the stream takes no samples ("" when it does)."""
        if self.stream.source_kind != SourceKind.PUSH:
            return f"{self.stream.slug} is not a push stream."
        if not self.stream.running:
            return f"{self.stream.slug} is stopped; its owner may start it again."
        return ""

    @cached_property
    def types(self) -> dict[str, str]:
        """Return the stream's field name → type."""
        return field_types(self.stream.fields)


def specificity(topic: str) -> tuple[bool, int]:
    return ("+" in topic or "#" in topic, -len(topic))


@dataclass
class RouteTable:
    targets: list[Target]
    remembered: dict[str, Target | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.targets = sorted(self.targets, key=lambda target: specificity(target.topic))

    @property
    def filters(self) -> list[str]:
        return [target.topic for target in self.targets]

    def match(self, topic: str) -> Target | None:
        """Return the target of `topic`, or None when no route takes it."""
        try:
            return self.remembered[topic]
        except KeyError:
            pass
        found = next((t for t in self.targets if topic_matches_sub(t.topic, topic)), None)
        if len(self.remembered) >= MAX_REMEMBERED_TOPICS:
            self.remembered.clear()
        self.remembered[topic] = found
        return found

    def fingerprint(self) -> tuple[tuple[str, int, str, str, bool, str], ...]:
        """Return what decides where messages go (a change means a new table)."""
        return tuple(
            (t.topic, t.stream.pk, t.field, t.value_key, t.stream.running, repr(t.stream.fields))
            for t in self.targets
        )


def route_table(broker_id: int) -> RouteTable:
    """Return a broker's routes with their streams, read now."""
    routes = Route.objects.filter(broker_id=broker_id).select_related("stream")
    return RouteTable(
        [Target(route.topic, route.stream, route.field, route.value_key) for route in routes]
    )
