"""The one reader of raw history: a stream's samples from blocks and rows, merged in seq order.

Every raw path reads through `samples_read` — resume and hole-filling, the
samples API, playback, exports, replay sources and the admin — forwards (oldest
first) or newest first, bounded by seq and by t, with a limit. Rows are read
first and blocks after: compaction moves rows into a block in one transaction,
so a sample missed among the rows is found in its block, and one seen in both
(moved in between) is kept once.

Decoded blocks are kept in a small cache: a playback or an export reads many
pages from the same block, and blocks never change (a block is only ever
deleted).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection

from streams.history.codec import StoredSample, block_samples, block_table, json_column

NO_SEQ = 2**63 - 1
NO_T = 2**63 - 1
CACHED_BLOCKS = 12

# Part of a range as `samples_parts` yields it: a block's samples as its decoded
# table (`codec.block_table`'s columns), or rows as samples.
SamplesPart: TypeAlias = pa.Table | list[StoredSample]


@dataclass(frozen=True)
class Bounds:
    """What to read: after_seq < seq < before_seq and start <= t < end."""

    after_seq: int = -NO_SEQ
    before_seq: int = NO_SEQ
    start: int = -NO_T
    end: int = NO_T


def samples_read(
    stream_id: int,
    *,
    limit: int,
    after_seq: int | None = None,
    before_seq: int | None = None,
    start: int | None = None,
    end: int | None = None,
    newest_first: bool = False,
) -> list[StoredSample]:
    """Return up to `limit` samples (seq, t, values, flags) of a stream within the bounds.

    Oldest first from after `after_seq`, or with `newest_first` the newest ones
    before `before_seq`; t, when given, within [start, end).
    """
    if limit <= 0:
        return []
    bounds = Bounds(
        -NO_SEQ if after_seq is None else max(after_seq, -NO_SEQ),
        NO_SEQ if before_seq is None else min(before_seq, NO_SEQ),
        -NO_T if start is None else max(start, -NO_T),
        NO_T if end is None else min(end, NO_T),
    )
    rows = _rows(stream_id, bounds, limit, newest_first)
    # Past the limit-th row no block sample can be among the first `limit`.
    if len(rows) == limit:
        bounds = (
            Bounds(rows[-1][0], bounds.before_seq, bounds.start, bounds.end)
            if newest_first
            else Bounds(bounds.after_seq, rows[-1][0], bounds.start, bounds.end)
        )
    from_blocks = _from_blocks(stream_id, bounds, limit, newest_first)
    first_from_blocks = next(from_blocks, None)
    if first_from_blocks is None:  # the hot tail alone: rows are in order, each seq once
        return rows
    merged = heapq.merge(
        rows,
        itertools.chain((first_from_blocks,), from_blocks),
        key=lambda sample: sample[0],
        reverse=newest_first,
    )
    result: list[StoredSample] = []
    for sample in merged:
        if result and result[-1][0] == sample[0]:
            continue
        result.append(sample)
        if len(result) == limit:
            break
    return result


def samples_pages(
    stream_id: int,
    *,
    start: int | None = None,
    end: int | None = None,
    after_seq: int | None = None,
    until_seq: int | None = None,
    page: int = 5000,
) -> Iterator[list[StoredSample]]:
    """Yield a stream's samples oldest first, a page at a time (memory stays flat)."""
    before = None if until_seq is None else until_seq + 1
    while True:
        samples = samples_read(
            stream_id, start=start, end=end, after_seq=after_seq, before_seq=before, limit=page
        )
        if not samples:
            return
        yield samples
        if len(samples) < page:
            return
        after_seq = samples[-1][0]


def samples_parts(
    stream_id: int,
    *,
    start: int | None = None,
    end: int | None = None,
    after_seq: int | None = None,
    until_seq: int | None = None,
    page: int = 5000,
) -> Iterator[SamplesPart]:
    """Yield a stream's samples oldest first, a block's as its table and rows as lists.

    The same samples in the same order as `samples_pages`, each seq once, for
    readers that go column-wise (exports): a block's samples stay one Arrow
    table (cut only where the range or an interleaved row cuts it), rows come
    `page` at a time. Memory stays flat: one page of rows and one block.
    """
    after = -NO_SEQ if after_seq is None else max(after_seq, -NO_SEQ)
    before = NO_SEQ if until_seq is None else min(until_seq + 1, NO_SEQ)
    start = -NO_T if start is None else max(start, -NO_T)
    end = NO_T if end is None else min(end, NO_T)
    while True:
        bounds = Bounds(after, before, start, end)
        rows = _rows(stream_id, bounds, page, newest_first=False)
        full = len(rows) == page
        if full:  # blocks past the page's last row wait for the next page
            bounds = Bounds(after, rows[-1][0] + 1, start, end)
        taken = 0
        for key in _blocks(stream_id, bounds, newest_first=False):
            table = _block(key)
            if table is None:  # deleted since (retention)
                continue
            _, first_seq, last_seq, _, _, first_t, last_t = key
            inside = first_seq > bounds.after_seq and last_seq < bounds.before_seq
            if not (inside and first_t >= bounds.start and last_t < bounds.end):
                table = table.filter(_within(table, bounds))
            if table.num_rows == 0:
                continue
            seqs = table.column("seq")
            first, last = seqs[0].as_py(), seqs[-1].as_py()
            earlier = bisect.bisect_left(rows, first, lo=taken, key=_seq)
            if earlier > taken:
                yield rows[taken:earlier]
            within = bisect.bisect_right(rows, last, lo=earlier, key=_seq)
            yield from _interleaved(table, rows[earlier:within])
            taken = within
        if taken < len(rows):
            yield rows[taken:]
        if not full:
            return
        after = rows[-1][0]


def _seq(sample: StoredSample) -> int:
    return sample[0]


def _interleaved(table: pa.Table, rows: list[StoredSample]) -> Iterator[SamplesPart]:
    """Yield a block's table with rows inside its seq range, in seq order, each seq once.

    A row whose seq the block holds too was moved into it meanwhile: the
    block's copy is kept. Other rows (seqs the block skips) go between its parts.
    """
    if not rows:
        yield table
        return
    seqs = table.column("seq")
    held = pc.is_in(pa.array([row[0] for row in rows], type=pa.int64()), value_set=seqs)
    position = 0
    for row, duplicate in zip(rows, held.to_pylist(), strict=True):
        if duplicate:
            continue
        cut = int(pc.sum(pc.less(seqs, row[0]).cast(pa.int64())).as_py() or 0)
        if cut > position:
            yield table.slice(position, cut - position)
        yield [row]
        position = cut
    if position < table.num_rows:
        yield table.slice(position)


# A row without flags, as SQLite ('[]') or PostgreSQL (decoded) gives its column.
NO_FLAGS = ("[]", None)
ROWS_SQL = (
    'SELECT seq, t, "values", flags FROM streams_sample WHERE stream_id = %s'
    " AND seq > %s AND seq < %s{times} ORDER BY seq{direction} LIMIT %s"
)


def _rows(stream_id: int, bounds: Bounds, limit: int, newest_first: bool) -> list[StoredSample]:
    after, before = bounds.after_seq, bounds.before_seq
    times = ""
    parameters: list[int] = [stream_id]
    if bounds.start != -NO_T or bounds.end != NO_T:
        seqs = _row_seq_bounds(stream_id, bounds)
        if seqs is None:
            return []
        after, before = max(after, seqs[0] - 1), min(before, seqs[1] + 1)
        times = " AND t >= %s AND t < %s"
    parameters += [after, before]
    if times:
        parameters += [bounds.start, bounds.end]
    parameters.append(limit)
    sql = ROWS_SQL.format(times=times, direction=" DESC" if newest_first else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        rows = cursor.fetchall()
    return [
        (seq, t, json_column(values), () if flags in NO_FLAGS else json_column(flags) or ())
        for seq, t, values, flags in rows
    ]


def _row_seq_bounds(stream_id: int, bounds: Bounds) -> tuple[int, int] | None:
    """Return the first and last row seq in [start, end): the t index found once, then seq's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq FROM streams_sample WHERE stream_id = %s AND t >= %s"
            " ORDER BY t, seq LIMIT 1",
            [stream_id, bounds.start],
        )
        first = cursor.fetchone()
        cursor.execute(
            "SELECT seq FROM streams_sample WHERE stream_id = %s AND t < %s"
            " ORDER BY t DESC, seq DESC LIMIT 1",
            [stream_id, bounds.end],
        )
        last = cursor.fetchone()
    if first is None or last is None or first[0] > last[0]:
        return None
    return first[0], last[0]


BLOCKS_SQL = (
    "SELECT id, first_seq, last_seq, size, count, first_t, last_t"
    " FROM streams_sampleblock WHERE stream_id = %s"
    " AND last_seq > %s AND first_seq < %s AND last_t >= %s AND first_t < %s"
)
BLOCKS_A_QUERY = 16


def _blocks(stream_id: int, bounds: Bounds, newest_first: bool) -> Iterator[tuple[int, ...]]:
    """Yield the keys of the blocks that meet the bounds, in order, a few per query."""
    order = (
        " AND first_seq < %s ORDER BY first_seq DESC"
        if newest_first
        else (" AND first_seq > %s ORDER BY first_seq")
    )
    position = NO_SEQ if newest_first else -NO_SEQ
    where = [stream_id, bounds.after_seq, bounds.before_seq, bounds.start, bounds.end]
    while True:
        with connection.cursor() as cursor:
            cursor.execute(BLOCKS_SQL + order + " LIMIT %s", [*where, position, BLOCKS_A_QUERY])
            keys = cursor.fetchall()
        for key in keys:
            yield tuple(key)
        if len(keys) < BLOCKS_A_QUERY:
            return
        position = keys[-1][1]


def _from_blocks(
    stream_id: int, bounds: Bounds, limit: int, newest_first: bool
) -> Iterator[StoredSample]:
    """Yield up to `limit` samples from the stream's blocks within the bounds, in order."""
    left = limit
    for key in _blocks(stream_id, bounds, newest_first):
        table = _block(key)
        if table is None:  # deleted since (retention)
            continue
        table = table.filter(_within(table, bounds))
        if newest_first:
            table = table.slice(max(0, table.num_rows - left))
            table = table.take(pa.array(range(table.num_rows - 1, -1, -1), type=pa.int64()))
        else:
            table = table.slice(0, left)
        samples = block_samples(table)
        yield from samples
        left -= len(samples)
        if left <= 0:
            return


def _within(table: pa.Table, bounds: Bounds) -> pa.Array:
    seq, t = table.column("seq"), table.column("t")
    return pc.and_(
        pc.and_(pc.greater(seq, bounds.after_seq), pc.less(seq, bounds.before_seq)),
        pc.and_(pc.greater_equal(t, bounds.start), pc.less(t, bounds.end)),
    )


def samples_count(
    stream_id: int, *, start: int | None = None, end: int | None = None, after_seq: int = -NO_SEQ
) -> int:
    """Return how many samples a stream stores after a seq and within [start, end)."""
    bounds = Bounds(
        after_seq, NO_SEQ, -NO_T if start is None else start, NO_T if end is None else end
    )
    where = [stream_id, bounds.after_seq, bounds.start, bounds.end]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM streams_sample WHERE stream_id = %s AND seq > %s"
            " AND t >= %s AND t < %s",
            where,
        )
        count = int(cursor.fetchone()[0])
    for key in _blocks(stream_id, bounds, newest_first=False):
        _, first_seq, _, _, samples, first_t, last_t = key
        if first_seq > bounds.after_seq and first_t >= bounds.start and last_t < bounds.end:
            count += samples  # wholly inside: no need to open it
            continue
        table = _block(key)
        if table is not None:
            count += int(pc.sum(_within(table, bounds).cast(pa.int64())).as_py() or 0)
    return count


class BlockCache:
    """The last few decoded blocks, by id and shape (SQLite may reuse an id after a delete)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tables: OrderedDict[tuple[int, ...], pa.Table] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[int, ...]) -> pa.Table | None:
        with self.lock:
            table = self.tables.get(key)
            if table is not None:
                self.tables.move_to_end(key)
            return table

    def put(self, key: tuple[int, ...], table: pa.Table) -> None:
        with self.lock:
            self.tables[key] = table
            while len(self.tables) > self.size:
                self.tables.popitem(last=False)


_cache = BlockCache(CACHED_BLOCKS)


def _block(key: tuple[int, ...]) -> pa.Table | None:
    """Return a block's decoded table, None if it is gone."""
    table = _cache.get(key)
    if table is not None:
        return table
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM streams_sampleblock WHERE id = %s", [key[0]])
        row = cursor.fetchone()
    if row is None:
        return None
    table = block_table(bytes(row[0]))
    _cache.put(key, table)
    return table
