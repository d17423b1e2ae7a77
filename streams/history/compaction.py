"""Compaction: a stream's older samples move from rows into compressed blocks, a block at a time.

Rows younger than the hot tail (`PULSEBOARD_HISTORY_HOT_SECONDS`) stay rows, so
live resume reads stay cheap; older ones are read, encoded outside any
transaction, then one short transaction deletes exactly those rows and inserts
their block. A process killed half way therefore leaves every seq stored once,
as a row or in a block, and the next pass goes on from there. A stream's newest
sample always stays a row, so "the highest stored seq" stays one index lookup
on rows and a stale writer's seq at or below it is refused as before.

Producers compact in the background: each second's timer nudges a `Compactor`,
which every `PULSEBOARD_COMPACT_EVERY_SECONDS` runs a pass in a thread of its
own (its own database connection, off the event loop and off the producer's
database thread), one block at a time with a pause between blocks.

A run of rows shorter than a block is written only once its oldest sample is
`PARTIAL_BLOCK_AFTER_MS` past the hot tail, so slow streams make blocks of
about an hour rather than one per pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from streams.clock import now_ms
from streams.history.codec import StoredSample, block_encode, json_column
from streams.history.reader import NO_SEQ
from streams.history.store import WritePriority, block_insert, write_turn
from streams.messages import Outgoing
from streams.models import SampleBlock, Stream

log = logging.getLogger(__name__)

BLOCK_SAMPLES = 16_384
PARTIAL_BLOCK_AFTER_MS = 3_600_000
# Between two blocks the compactor lets others write (SQLite has one writer).
PAUSE_BETWEEN_BLOCKS_SECONDS = 0.01

OLD_ROWS_SQL = (
    'SELECT seq, t, "values", flags FROM streams_sample'
    " WHERE stream_id = %s AND seq > %s AND seq < %s ORDER BY seq LIMIT %s"
)
NEWEST_SQL = "SELECT MAX(seq) FROM streams_sample WHERE stream_id = %s"
BLOCK_WITHIN_SQL = (
    "SELECT MIN(first_seq) FROM streams_sampleblock"
    " WHERE stream_id = %s AND first_seq > %s AND first_seq < %s"
)
DELETE_SQL = "DELETE FROM streams_sample WHERE stream_id = %s AND seq >= %s AND seq <= %s"


class RowsChanged(Exception):
    """The rows of a block changed between reading and moving them (retention ran); try again."""


@dataclass(frozen=True)
class Cutoffs:
    """Rows with t before `hot` may move; a run shorter than a block only if it began before `partial`."""

    hot: int
    partial: int

    @classmethod
    def at(cls, now_ms: int) -> Cutoffs:
        hot = now_ms - settings.PULSEBOARD_HISTORY_HOT_SECONDS * 1000
        return cls(hot=hot, partial=hot - PARTIAL_BLOCK_AFTER_MS)


def _old_rows(stream_id: int, after_seq: int, cutoffs: Cutoffs, limit: int) -> list[StoredSample]:
    """Return up to `limit` consecutive rows after a seq, up to the first in the hot tail.

    Never the newest row. A run ends at the first row of the hot tail even if
    older ones follow it (a late-stamped push), and before a block among the
    rows, so a block's seqs are exactly the rows it replaces.
    """
    with connection.cursor() as cursor:
        cursor.execute(NEWEST_SQL, [stream_id])
        newest = cursor.fetchone()[0]
        if newest is None:
            return []
        cursor.execute(OLD_ROWS_SQL, [stream_id, after_seq, newest, limit])
        rows = cursor.fetchall()
        if not rows:
            return []
        # A block written straight from a large push may sit among the rows: the
        # run ends before it, so no two blocks share a seq range.
        cursor.execute(BLOCK_WITHIN_SQL, [stream_id, rows[0][0], rows[-1][0]])
        within = cursor.fetchone()[0]
    end = NO_SEQ if within is None else within
    old = []
    for seq, t, values, flags in rows:
        if t >= cutoffs.hot or seq >= end:
            break
        old.append((seq, t, json_column(values), json_column(flags) or ()))
    return old


def block_write(stream_id: int, samples: list[StoredSample]) -> SampleBlock:
    """Move these rows (consecutive, as read) into one block in one transaction."""
    data = block_encode(samples)
    first, last = samples[0][0], samples[-1][0]
    times = [t for _, t, _, _ in samples]
    # On SQLite the block waits its turn behind lease renewals and the producer's ticks.
    with write_turn(WritePriority.BULK), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(DELETE_SQL, [stream_id, first, last])
        if cursor.rowcount != len(samples):
            raise RowsChanged(f"{cursor.rowcount} rows of {first}–{last}, {len(samples)} read")
        return block_insert(
            stream_id,
            seqs=(first, last),
            times=(min(times), max(times)),
            count=len(samples),
            data=data,
        )


def stream_compact(
    stream_id: int,
    cutoffs: Cutoffs,
    *,
    block_samples: int = BLOCK_SAMPLES,
    progress: Callable[[int], object] = lambda moved: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Move a stream's rows older than the hot tail into blocks; return how many samples moved."""
    moved = after = 0
    while not should_stop():
        rows = _old_rows(stream_id, after, cutoffs, block_samples)
        if not rows or (len(rows) < block_samples and rows[0][1] >= cutoffs.partial):
            break
        try:
            block_write(stream_id, rows)
        except RowsChanged as changed:
            log.info("compaction of stream %d read again: %s", stream_id, changed)
            continue
        moved += len(rows)
        after = rows[-1][0]
        progress(len(rows))
        time.sleep(PAUSE_BETWEEN_BLOCKS_SECONDS)
    return moved


def compactable(stream_id: int, cutoffs: Cutoffs) -> int:
    """Return about how many of a stream's rows a pass would move now (its progress bar's total)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM streams_sample WHERE stream_id = %s AND t < %s",
            [stream_id, cutoffs.hot],
        )
        return int(cursor.fetchone()[0])


def compaction_pass(
    now: int,
    *,
    slugs: list[str] | None = None,
    progress: Callable[[int], object] = lambda moved: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Compact every stream (or those named); return how many samples moved into blocks."""
    cutoffs = Cutoffs.at(now)
    streams = Stream.objects.order_by("pk")
    if slugs:
        streams = streams.filter(slug__in=slugs)
    moved = 0
    for stream_id, slug in streams.values_list("pk", "slug"):
        count = stream_compact(stream_id, cutoffs, progress=progress, should_stop=should_stop)
        if count:
            log.info("compaction moved %d samples of %s into blocks", count, slug)
        moved += count
    return moved


class Compactor:
    """Compaction passes in a thread of their own, one at a time, at most every interval."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.next_pass: float | None = None

    def nudge(self, now: int) -> list[Outgoing]:
        """Start a pass if one is due and none runs (a timer listener: it sends nothing)."""
        every = settings.PULSEBOARD_COMPACT_EVERY_SECONDS
        if every <= 0:
            return []
        with self.lock:
            moment = time.monotonic()
            if self.next_pass is None:  # the first pass an interval after the start
                self.next_pass = moment + every
            if moment < self.next_pass or (self.thread is not None and self.thread.is_alive()):
                return []
            self.next_pass = moment + every
            self.thread = threading.Thread(target=self.run_pass, name="compaction", daemon=True)
            self.thread.start()
        return []

    def run_pass(self) -> None:
        try:
            compaction_pass(now_ms())
        except Exception:
            log.exception("compaction failed; it runs again at the next interval")
        finally:
            connection.close()


compactor = Compactor()
