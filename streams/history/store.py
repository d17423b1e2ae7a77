"""Writing samples: each batch of every stream, and its rollups, in one transaction.

On SQLite one connection writes at a time, and a connection that waits for the
lock polls for it: a writer that commits and begins again at once (a busy
pusher) can keep a waiting one out until its busy timeout runs out. So the
writers of a process take turns here first (`write_turn`): lease renewals
before the producer's ticks, ticks before bulk writes (pushes, retention), and
a bulk writer that cannot get its turn in time gives up with WritesBusy
(pushes answer 503). PostgreSQL locks rows, not the database: no turns there.

A large batch (`PULSEBOARD_BLOCK_BATCH_SAMPLES` or more, a push of thousands)
goes straight into a compressed block, as compaction would write it later:
a block costs the database one row where rows cost it one each, several
times the work of everything else in the push (bench/ingest.py rate).
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from enum import IntEnum
from typing import Any

import pyarrow.compute as pc
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from streams.history.codec import block_encode_table, json_column, samples_table
from streams.history.columns import rollup_partials_columns
from streams.history.rollups import rollups_apply, rollups_merge
from streams.jsontext import json_text
from streams.messages import SampleFrame
from streams.models import SampleBlock


class WritePriority(IntEnum):
    """Who goes first when several of a process's threads want to write."""

    LEASE = 0
    LIVE = 1
    BULK = 2


class WritesBusy(Exception):
    """A writer waited longer than it may for its turn to write."""


class WriteTurns:
    """One writer at a time per process, the most urgent first, first come first within a kind."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: list[tuple[int, int]] = []
        self._tickets = itertools.count()
        self._holder: int | None = None  # the thread whose turn it is
        self._depth = 0

    @contextlib.contextmanager
    def turn(self, priority: WritePriority, timeout: float | None = None) -> Iterator[None]:
        """Hold the turn to write for the block; raise WritesBusy after `timeout` seconds."""
        me = threading.get_ident()
        with self._changed:
            if self._holder != me:
                ticket = (int(priority), next(self._tickets))
                heapq.heappush(self._waiting, ticket)
                if not self._changed.wait_for(
                    lambda: self._holder is None and self._waiting[0] == ticket, timeout
                ):
                    self._waiting.remove(ticket)
                    heapq.heapify(self._waiting)
                    self._changed.notify_all()
                    raise WritesBusy(f"no turn to write within {timeout} s")
                heapq.heappop(self._waiting)
                self._holder = me
            self._depth += 1
        try:
            yield
        finally:
            with self._changed:
                self._depth -= 1
                if self._depth == 0:
                    self._holder = None
                    self._changed.notify_all()


_turns = WriteTurns()


@contextlib.contextmanager
def write_turn(priority: WritePriority, timeout: float | None = None) -> Iterator[None]:
    """Hold this process's turn to write to SQLite for the block (PostgreSQL needs none)."""
    if connection.vendor != "sqlite":
        yield
        return
    with _turns.turn(priority, timeout):
        yield


def history_append(batches: Mapping[int, list[SampleFrame]]) -> int:
    """Store the batches of several streams and their rollups in one transaction.

    Samples at or below a stream's stored seq are skipped, so retrying a write
    that did commit stores (and counts in rollups) nothing twice. Returns how
    many samples were new.
    """
    stored = 0
    blocked = settings.PULSEBOARD_BLOCK_BATCH_SAMPLES
    with transaction.atomic(), connection.cursor() as cursor:
        for stream_id, samples in batches.items():
            cursor.execute(LAST_SEQ_SQL, [stream_id])
            last = cursor.fetchone()[0] or 0
            fresh = [s for s in samples if s["seq"] > last]
            if not fresh:
                continue
            if 0 < blocked <= len(fresh) and len(fresh) > 1:
                _append_blocked(cursor, stream_id, fresh, last)
            else:
                _rows_write(cursor, [_row(stream_id, s) for s in fresh])
                rollups_apply(stream_id, fresh)
            stored += len(fresh)
    return stored


def _row(stream_id: int, sample: SampleFrame) -> Row:
    flags = json_text(sample["flags"]) if "flags" in sample else "[]"
    return (stream_id, sample["seq"], sample["t"], json_text(sample["values"]), flags)


def _rows_write(cursor: Any, rows: list[Row]) -> None:
    if connection.vendor == "postgresql":
        _copy_rows(cursor, rows)
    else:
        _insert_rows(cursor, rows)


NEWEST_ROW_SQL = (
    'SELECT seq, t, "values", flags FROM streams_sample WHERE stream_id = %s AND seq = %s'
)
DELETE_ROW_SQL = "DELETE FROM streams_sample WHERE stream_id = %s AND seq = %s"


def _append_blocked(cursor: Any, stream_id: int, fresh: list[SampleFrame], last: int) -> None:
    """Store a large batch as one block and its last sample as a row, with its rollups.

    The block takes the stream's newest row too (the row a batch before left),
    so blocks of consecutive batches meet with no row between them; the batch's
    last sample stays a row, the stream's newest, so the highest stored seq is
    still read from rows alone (the write fence of every writer).
    """
    seqs = [s["seq"] for s in fresh]
    if any(later <= earlier for earlier, later in itertools.pairwise(seqs)):
        # What the rows' unique (stream, seq) would refuse, a block must refuse too.
        raise IntegrityError(f"stream {stream_id}: a batch's seqs must increase: {seqs[:10]}…")
    cursor.execute(NEWEST_ROW_SQL, [stream_id, last])
    newest = [
        (seq, t, json_column(values), json_column(flags) or ())
        for seq, t, values, flags in cursor.fetchall()
    ]
    table = samples_table(
        newest + [(s["seq"], s["t"], s["values"], s.get("flags", ())) for s in fresh]
    )
    rollups_merge(stream_id, rollup_partials_columns(table.slice(len(newest))))
    if newest:
        cursor.execute(DELETE_ROW_SQL, [stream_id, last])
    into_block = table.slice(0, table.num_rows - 1)
    times = pc.min_max(into_block.column("t")).as_py()
    block_insert(
        stream_id,
        seqs=(into_block.column("seq")[0].as_py(), fresh[-2]["seq"]),
        times=(times["min"], times["max"]),
        count=into_block.num_rows,
        data=block_encode_table(into_block),
    )
    _rows_write(cursor, [_row(stream_id, fresh[-1])])


def block_insert(
    stream_id: int, *, seqs: tuple[int, int], times: tuple[int, int], count: int, data: bytes
) -> SampleBlock:
    """Insert an encoded block of `count` samples, seqs and times as (lowest, highest)."""
    return SampleBlock.objects.create(
        stream_id=stream_id,
        first_seq=seqs[0],
        last_seq=seqs[1],
        first_t=times[0],
        last_t=times[1],
        count=count,
        size=len(data),
        data=data,
    )


LAST_SEQ_SQL = "SELECT MAX(seq) FROM streams_sample WHERE stream_id = %s"
COLUMNS = '(stream_id, seq, t, "values", flags)'
INSERT_CHUNK = 500  # rows per INSERT statement: 2,500 parameters, under SQLite's limit
Row = tuple[int, int, int, str, str]


def _insert_rows(cursor: Any, rows: list[Row]) -> None:
    """INSERT the rows with multi-row statements (SQLite and other backends)."""
    limit = INSERT_CHUNK
    if connection.vendor == "sqlite":
        variables = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        limit = max(1, min(limit, variables // len(rows[0])))
    for offset in range(0, len(rows), limit):
        chunk = rows[offset : offset + limit]
        cursor.execute(_insert_sql(len(chunk)), [v for row in chunk for v in row])


@functools.cache
def _insert_sql(count: int) -> str:
    return f"INSERT INTO streams_sample {COLUMNS} VALUES " + ", ".join(
        ["(%s, %s, %s, %s, %s)"] * count
    )


def _copy_rows(cursor: Any, rows: list[Row]) -> None:
    """Load the rows with COPY (PostgreSQL), several times faster than INSERT there."""
    with (
        connection.wrap_database_errors,  # psycopg's errors as Django's, as for execute()
        cursor.cursor.copy(f"COPY streams_sample {COLUMNS} FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
