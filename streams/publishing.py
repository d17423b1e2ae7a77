"""The publish step: each channel-layer message has one sender here.

Everything that emits a message calls its sender (or hands `Outgoing` pairs
decided earlier to `send_all` / `send_after_commit`), so the layer is looked up
and a group addressed in one place. The shapes themselves are `streams/messages.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from streams.messages import (
    PRODUCERS_GROUP,
    Outgoing,
    ProducerReconcileMessage,
    SampleFrame,
    StreamFrameMessage,
    StreamPresenceMessage,
    StreamStatusMessage,
    data_frame,
    stream_group,
)
from streams.metrics import metric_inc


def _layer() -> Any:
    return get_channel_layer()


async def send_stream_frame(*, slug: str, batch: list[SampleFrame]) -> None:
    """Send a stored batch to every watcher, as one frame encoded once."""
    message: StreamFrameMessage = {
        "type": "stream.frame",
        "stream": slug,
        "text": data_frame(slug, batch),
        "first": batch[0]["seq"],
        "last": batch[-1]["seq"],
    }
    await _layer().group_send(stream_group(slug), message)
    metric_inc("pulseboard_samples_published_total", len(batch), stream=slug)


async def send_stream_status(*, slug: str, running: bool, by: str, origin: str = "") -> None:
    """Tell every watcher of the stream, and every producer, that it started or stopped."""
    message: StreamStatusMessage = {
        "type": "stream.status",
        "stream": slug,
        "running": running,
        "by": by,
        "origin": origin,
    }
    await _layer().group_send(stream_group(slug), message)
    await send_producers_reconcile()


async def send_producers_reconcile() -> None:
    """Nudge every producer to read the running flags now, not at its next interval."""
    message: ProducerReconcileMessage = {"type": "producer.reconcile"}
    await _layer().group_send(PRODUCERS_GROUP, message)


async def send_stream_presence(layer: Any, *, slug: str, connections: int, users: int) -> None:
    """Tell a stream's watchers how many watch it, on the layer of the socket that changed it."""
    message: StreamPresenceMessage = {
        "type": "stream.presence",
        "stream": slug,
        "connections": connections,
        "users": users,
    }
    await layer.group_send(stream_group(slug), message)


async def send_all(outgoing: Iterable[Outgoing]) -> None:
    """Send messages decided earlier (in a database thread, say), in order."""
    layer = _layer()
    for group, message in outgoing:
        await layer.group_send(group, message)


def send_after_commit(outgoing: list[Outgoing]) -> None:
    """Send from synchronous code once the current transaction commits (at once outside one).

    Access changes are sent this way: a socket that re-checks its rights on
    receipt must read what was committed, not what was about to be.
    """
    if outgoing:
        transaction.on_commit(lambda: async_to_sync(send_all)(outgoing))
