"""Writes about streams: starting and stopping sources, announcing it to watchers."""

from __future__ import annotations

from typing import Any

from channels.layers import get_channel_layer

from streams.metrics import metric_inc, metric_set
from streams.models import Stream
from streams.protocol import SampleFrame, data_frame

PRODUCERS_GROUP = "producers"


def stream_set_running(*, stream: Stream, running: bool) -> None:
    """Record in the database, the truth the producer reconciles from, whether it runs."""
    Stream.objects.filter(pk=stream.pk).update(running=running)
    stream.running = running
    metric_set("pulseboard_stream_running", int(running), stream=stream.slug)


async def stream_announce_status(*, slug: str, running: bool, by: str, origin: str = "") -> None:
    """Tell every watcher of the stream, and every producer, that it started or stopped.

    `origin` is the channel of the socket that asked, which has had its answer.
    """
    layer: Any = get_channel_layer()
    message = {
        "type": "stream.status",
        "stream": slug,
        "running": running,
        "by": by,
        "origin": origin,
    }
    await layer.group_send(f"stream.{slug}", message)
    await layer.group_send(PRODUCERS_GROUP, {"type": "producer.reconcile"})


async def stream_publish(*, slug: str, batch: list[SampleFrame]) -> None:
    """Send a stored batch to every watcher, as one frame encoded once."""
    layer: Any = get_channel_layer()
    await layer.group_send(
        f"stream.{slug}",
        {
            "type": "stream.frame",
            "stream": slug,
            "text": data_frame(slug, batch),
            "first": batch[0]["seq"],
            "last": batch[-1]["seq"],
        },
    )
    metric_inc("pulseboard_samples_published_total", len(batch), stream=slug)
