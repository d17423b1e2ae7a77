"""The one path of new samples, whatever brought them: store, publish the frames, tell listeners.

The producer's ticks, HTTP pushes and every ingest path to come end here, so the
order is the same everywhere: samples are stored before anyone sees them (resume
and hole-filling read history alone), watchers get the frames, and only then
what listeners of stored samples (alert rules) want sent — a page never hears of
an alert before the samples that fired it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from channels.db import database_sync_to_async

from streams.history.store import history_append
from streams.history.stored import samples_stored
from streams.messages import Outgoing, SampleFrame
from streams.metrics import metric_inc
from streams.publishing import send_all, send_stream_frame

Batches = Mapping[int, list[SampleFrame]]
# Runs a blocking function in a thread that may use the database; returns its result.
InThread = Callable[..., Awaitable[Any]]


async def database_thread(function: Callable[[], Any]) -> Any:
    """Run `function` in Channels' database thread (which keeps its connections tidy)."""
    return await database_sync_to_async(function)()


def samples_write(batches: Batches) -> int:
    """Write each stream's samples (stream id → batch) in the caller's transaction; return how many."""
    stored = history_append(batches)
    metric_inc("pulseboard_samples_stored_total", stored)
    return stored


async def samples_publish(
    frames: Mapping[str, list[SampleFrame]], notices: Sequence[Outgoing] = ()
) -> None:
    """Publish each stream's samples as one frame (slug → batch), then the listeners' messages."""
    try:
        for slug, batch in frames.items():
            await send_stream_frame(slug=slug, batch=batch)
    finally:
        # What listeners decided is written already (alert events); their news goes out
        # even when a frame could not, and after every frame that could.
        await send_all(list(notices))


async def pipeline_run(
    *,
    store: Callable[[], Batches],
    slugs: Mapping[int, str],
    in_thread: InThread,
    publish: Callable[[], Batches] | None = None,
) -> Batches:
    """Store, then publish, then tell listeners; return what was stored, by stream id.

    `store` runs in the database thread (`in_thread`) and returns what it wrote;
    listeners hear of exactly that. The frames published are what was stored,
    unless `publish` says others once the store is done (a producer retrying an
    earlier write has published those samples already).
    """

    def store_and_listen() -> tuple[Batches, list[Outgoing]]:
        stored = store()
        return stored, samples_stored(dict(stored)) if stored else []

    stored, notices = await in_thread(store_and_listen)
    shown = stored if publish is None else publish()
    await samples_publish({slugs[stream_id]: batch for stream_id, batch in shown.items()}, notices)
    return stored
