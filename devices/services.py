"""Writes of the broker pages: a broker saved, deleted; a route added or removed."""

from __future__ import annotations

from typing import Any

from devices.models import Broker, Route
from streams.models import Stream


def broker_route_add(*, broker: Broker, topic: str, stream: Stream, field: str) -> Route:
    """Route `topic` (a filter) of `broker` to `stream`; the bridge subscribes within seconds."""
    return Route.objects.create(broker=broker, topic=topic, stream=stream, field=field)


def broker_route_remove(*, broker: Broker, route_id: int) -> bool:
    """Remove one route of `broker`; return whether there was one."""
    deleted, _ = Route.objects.filter(broker=broker, pk=route_id).delete()
    return bool(deleted)


def broker_delete(*, broker: Broker) -> None:
    """Delete the broker and its routes; its bridge stops at the next reconcile. Streams stay."""
    broker.delete()


def brokers_of(user: Any) -> Any:
    """Return the user's brokers with their routes and streams."""
    return Broker.objects.filter(owner=user).prefetch_related("routes__stream")
