"""Reads that subscribers of the same stream share: one at a time per stream, each serving all.

When a thousand pages (re)connect at once, each of their subscribes used to make
its own trips to the database — the stream and the viewer's right to it, the
last seq, then the backfill or the samples after `since` — one after another in
the one thread Channels gives the database. Here, per stream:

- while a read is running, the subscribes that arrive wait for the next one,
  which starts as soon as it ends and serves every one of them (a subscriber
  never takes a read that began before it joined the stream's group: it would
  miss what was published in between);
- the read of samples fetches the newest rows once, as many as the largest
  backfill or resume of the batch asks (up to `SHARED_ROWS`), and each
  subscriber takes its part; each part is encoded once per batch, however many
  subscribers send it; the next batch reads only what was stored since;
- a batch names the ask that made its read as large as it is (`Snapshot.payer`):
  that subscriber's user is charged the rows read, the others nothing
  (streams/live/allowance.py);
- the reads run in a thread of their own (`HISTORY_THREAD`), so a storm of
  subscribes does not queue before the access re-checks and page views that use
  Channels' database thread, and hole refills of viewers already live go there too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import close_old_connections

from streams.access import stream_for_viewer
from streams.batches import Batches, per_loop
from streams.history.samples import (
    history_after,
    history_first_seq,
    history_last_seq,
    history_latest,
)
from streams.messages import SampleFrame, data_frame
from streams.models import Stream

# A batch's read of samples stops here; a subscriber further behind reads its own pages.
SHARED_ROWS = 10_000
# A batch builds on the stream's previous snapshot when it is this recent.
REUSE_SECONDS = 5.0
# History goes out in frames of this many samples, read in pages of the same size.
HISTORY_PAGE = 2_000

HISTORY_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-reads")

Result = TypeVar("Result")


def in_history_thread(
    function: Callable[..., Result], *args: Any, **kwargs: Any
) -> asyncio.Future[Result]:
    """Run a database read in the history thread, with Django's connection upkeep around it."""

    def run() -> Result:
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return asyncio.get_running_loop().run_in_executor(HISTORY_THREAD, run)


# -- what a batch reads ------------------------------------------------------------


@dataclass
class Viewer:
    user: Any
    link: int | None

    def key(self) -> tuple[Any, ...]:
        """Viewers with the same key get the same answer (the same user as loaded, or link)."""
        user = self.user
        signed_in = user is not None and user.is_authenticated
        return (user.pk, user.is_staff, user.is_active) if signed_in else (None,), self.link


def streams_for_viewers(slug: Hashable, viewers: list[Viewer]) -> list[tuple[Stream | None, bool]]:
    """Return the stream and whether each viewer may watch it, deciding once per kind of viewer."""
    answers: dict[tuple[Any, ...], tuple[Stream | None, bool]] = {}
    results = []
    for viewer in viewers:
        key = viewer.key()
        if key not in answers:
            answers[key] = stream_for_viewer(str(slug), viewer.user, viewer.link)
        results.append(answers[key])
    return results


@dataclass(eq=False)
class Wanted:
    """One subscriber's ask (compared by identity: the batch names the one it charges)."""

    backfill: int = 0
    since: int | None = None

    def rows(self, last: int) -> int:
        """Return how many of the newest samples this ask needs, when the last seq is `last`."""
        if self.since is None:
            return self.backfill
        # A resume reaches back PULSEBOARD_MAX_RESUME samples at most (catchup.resume_start).
        return min(last - self.since, settings.PULSEBOARD_MAX_RESUME) if self.since < last else 0


@dataclass
class Snapshot:
    """A stream's history as one batch read it: bounds, and its newest samples."""

    slug: str
    last_seq: int
    first_seq: int
    recent: list[SampleFrame]  # oldest first; may run past last_seq
    complete: bool  # recent holds every stored sample up to its end
    # The ask that made the read as large as it is: its viewer is charged the rows.
    payer: Wanted | None = None
    texts: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    read_at: float = field(default_factory=time.monotonic)

    def covers(self, after: int) -> bool:
        """Return whether `recent` holds every sample after seq `after`."""
        return self.complete or (bool(self.recent) and self.recent[0]["seq"] <= after + 1)

    def latest(self, count: int) -> list[SampleFrame]:
        return self.recent[-count:] if count > 0 else []

    def frames_after(self, after: int, until: int) -> list[str]:
        """Return the `data` frames of the samples in (after, until], each encoded once."""
        key = (after, until)
        texts = self.texts.get(key)
        if texts is None:
            samples = [s for s in self.recent if after < s["seq"] <= until]
            texts = self.texts[key] = frames_of(self.slug, samples)
        return texts

    def frames_latest(self, count: int) -> list[str]:
        key = (-1, count)
        texts = self.texts.get(key)
        if texts is None:
            texts = self.texts[key] = frames_of(self.slug, self.latest(count))
        return texts


def frames_of(slug: str, samples: list[SampleFrame]) -> list[str]:
    return [
        data_frame(slug, samples[start : start + HISTORY_PAGE])
        for start in range(0, len(samples), HISTORY_PAGE)
    ]


class SnapshotReads:
    """Reads a stream's snapshot for a batch, building on the stream's previous one.

    Stored samples never change, so when the previous snapshot is recent and
    deep enough, a batch reads only the samples stored after it. Snapshots older
    than `REUSE_SECONDS` are forgotten: memory holds only streams being joined.
    Runs in the history thread alone.
    """

    def __init__(self) -> None:
        self.previous: dict[int, Snapshot] = {}

    def __call__(self, key: Hashable, wanted: list[Wanted]) -> list[Snapshot]:
        stream_id, slug = cast(tuple[int, str], key)
        last = history_last_seq(stream_id)
        asks = [w.rows(last) for w in wanted]
        behind = any(w.since is not None and w.since < last for w in wanted)
        first = history_first_seq(stream_id) if behind else 0
        cap = max(SHARED_ROWS, settings.PULSEBOARD_MAX_BACKFILL)
        largest = max(asks, default=0)
        need = min(cap, largest)
        recent, complete = self.recent(stream_id, need, last)
        complete = complete or (bool(recent) and recent[0]["seq"] <= first)
        payer = wanted[asks.index(largest)] if largest > 0 else None
        snapshot = Snapshot(slug, last, first, recent, complete, payer)
        self.previous[stream_id] = snapshot
        return [snapshot] * len(wanted)

    def recent(self, stream_id: int, need: int, last: int) -> tuple[list[SampleFrame], bool]:
        """Return the newest `need` samples, oldest first, and whether they are all there are."""
        now = time.monotonic()
        for old_id, old in list(self.previous.items()):
            if now - old.read_at > REUSE_SECONDS:
                del self.previous[old_id]
        previous = self.previous.get(stream_id)
        if previous is not None and (previous.complete or len(previous.recent) >= need):
            end = previous.recent[-1]["seq"] if previous.recent else 0
            # (a previous snapshot past the last seq is from before a database reset)
            newer = history_after(stream_id, end, limit=need + 1) if end <= last else []
            if end <= last and len(newer) <= need:
                rows = previous.recent + newer
                return rows[-need:] if need else [], previous.complete and len(rows) <= need
        recent = history_latest(stream_id, need)
        return recent, len(recent) < need


class SharedReads:
    """This process's batches of subscribe reads, one set per event loop."""

    def __init__(self) -> None:
        self.streams: Batches[Viewer, tuple[Stream | None, bool]] = Batches(
            streams_for_viewers, in_history_thread
        )
        self.snapshots: Batches[Wanted, Snapshot] = Batches(SnapshotReads(), in_history_thread)

    async def stream_for(
        self, slug: str, user: Any, link: int | None
    ) -> tuple[Stream | None, bool]:
        return await self.streams.ask(slug, Viewer(user, link))

    async def snapshot(self, stream: Stream, wanted: Wanted) -> Snapshot:
        return await self.snapshots.ask((stream.pk, stream.slug), wanted)


# The running loop's batches.
shared_reads = per_loop(SharedReads)
