"""Starting and stopping a stream's source: the flag in the database, then the news."""

from __future__ import annotations

from channels.db import database_sync_to_async

from streams.access import derived_start_refusal
from streams.metrics import metric_set
from streams.models import Stream
from streams.publishing import send_stream_status


class StartRefused(Exception):
    """The stream may not start: it reads a stream its owner does not read directly."""

    code = "forbidden"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def stream_set_running(*, stream_id: int, slug: str, running: bool) -> None:
    """Record in the database, the truth the producer reconciles from, whether it runs."""
    Stream.objects.filter(pk=stream_id).update(running=running)
    metric_set("pulseboard_stream_running", int(running), stream=slug)


async def stream_start_stop(*, stream: Stream, running: bool, by: str, origin: str = "") -> None:
    """Start or stop the stream's source and tell its watchers and every producer.

    `origin` is the channel of the socket that asked, which has had its answer.
    Raises StartRefused, changing nothing, for a derived stream whose owner does
    not read what it reads.
    """
    if running:
        refusal = await database_sync_to_async(derived_start_refusal)(stream.pk)
        if refusal is not None:
            raise StartRefused(refusal)
    await database_sync_to_async(stream_set_running)(
        stream_id=stream.pk, slug=stream.slug, running=running
    )
    stream.running = running
    await send_stream_status(slug=stream.slug, running=running, by=by, origin=origin)
