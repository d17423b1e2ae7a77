"""Reading stored samples as frames: by seq for resume, backfill and hole-filling; by time for pages.

Every read goes through the one reader (`streams/history/reader.py`), which
merges a stream's compressed blocks and its recent rows in seq order.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from streams.history.reader import samples_read
from streams.messages import SampleFrame, sample_frame
from streams.models import Stream

BOUNDS_SQL = (
    "SELECT MIN(first), MAX(last) FROM ("
    " SELECT MIN(seq) AS first, MAX(seq) AS last FROM streams_sample WHERE stream_id = %s"
    " UNION ALL"
    " SELECT MIN(first_seq), MAX(last_seq) FROM streams_sampleblock WHERE stream_id = %s"
    ") AS stored"
)


def _seq_range(stream_id: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(BOUNDS_SQL, [stream_id, stream_id])
        first, last = cursor.fetchone()
    return first or 0, last or 0


def history_first_seq(stream_id: int) -> int:
    """Return the lowest stored seq of a stream (retention deletes from the start), 0 if none."""
    return _seq_range(stream_id)[0]


def history_last_seq(stream_id: int) -> int:
    """Return the highest stored seq of a stream, 0 when it has none."""
    return _seq_range(stream_id)[1]


def _frames(samples: list[tuple[int, int, Any, Any]]) -> list[SampleFrame]:
    return [sample_frame(seq, t, values, flags) for seq, t, values, flags in samples]


def history_after(
    stream_id: int, since: int, *, until: int | None = None, limit: int
) -> list[SampleFrame]:
    """Return up to `limit` stored samples with since < seq (≤ until), oldest first."""
    before = None if until is None else until + 1
    return _frames(samples_read(stream_id, after_seq=since, before_seq=before, limit=limit))


def history_latest(stream_id: int, count: int) -> list[SampleFrame]:
    """Return the last `count` stored samples of a stream, oldest first."""
    newest = samples_read(stream_id, limit=count, newest_first=True)
    return _frames(newest[::-1])


def history_page(
    slug: str, *, start: int, end: int, after_seq: int, limit: int
) -> list[tuple[int, int, dict[str, Any], list[str]]]:
    """Return up to `limit` (seq, t, values, flags) of a stream in [start, end), after a seq."""
    stream_id = Stream.objects.filter(slug=slug).values_list("pk", flat=True).first()
    if stream_id is None:
        return []
    page = samples_read(stream_id, start=start, end=end, after_seq=after_seq, limit=limit)
    return [(seq, t, values, list(flags)) for seq, t, values, flags in page]


def seq_bounds(stream_id: int, start: int, end: int) -> tuple[int, int] | None:
    """Return the first and last seq stored in [start, end) (seq grows with t)."""
    first = samples_read(stream_id, start=start, end=end, limit=1)
    last = samples_read(stream_id, start=start, end=end, limit=1, newest_first=True)
    if not first or not last:
        return None
    return first[0][0], last[0][0]


def samples_page(
    stream_id: int,
    *,
    start: int,
    end: int,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int,
) -> list[SampleFrame]:
    """Return up to `limit` stored samples of [start, end) with every field, oldest first.

    Forward after `after_seq`, or with `before_seq` the newest before it.
    """
    if before_seq is not None:
        newest = samples_read(
            stream_id, start=start, end=end, before_seq=before_seq, limit=limit, newest_first=True
        )
        return _frames(newest[::-1])
    return _frames(
        samples_read(stream_id, start=start, end=end, after_seq=after_seq or 0, limit=limit)
    )


def history_first_t(stream_id: int) -> int | None:
    """Return the time of a stream's oldest stored sample: raw history starts there."""
    oldest = samples_read(stream_id, limit=1)
    return oldest[0][1] if oldest else None
