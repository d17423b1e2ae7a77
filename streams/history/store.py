"""Writing samples: each batch of every stream, and its rollups, in one transaction.

On SQLite one connection writes at a time, and a connection that waits for the
lock polls for it: a writer that commits and begins again at once (a busy
pusher) can keep a waiting one out until its busy timeout runs out. So the
writers of a process take turns here first (`write_turn`): lease renewals
before the producer's ticks, ticks before bulk writes (pushes, retention), and
a bulk writer that cannot get its turn in time gives up with WritesBusy
(pushes answer 503). PostgreSQL locks rows, not the database: no turns there.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from enum import IntEnum
from typing import Any

import orjson
from django.db import connection, transaction

from streams.history.rollups import rollups_apply
from streams.messages import SampleFrame


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
    with transaction.atomic(), connection.cursor() as cursor:
        for stream_id, samples in batches.items():
            cursor.execute(LAST_SEQ_SQL, [stream_id])
            last = cursor.fetchone()[0] or 0
            fresh = [s for s in samples if s["seq"] > last]
            if not fresh:
                continue
            rows = [
                (
                    stream_id,
                    s["seq"],
                    s["t"],
                    json_text(s["values"]),
                    json_text(s["flags"]) if "flags" in s else "[]",
                )
                for s in fresh
            ]
            if connection.vendor == "postgresql":
                _copy_rows(cursor, rows)
            else:
                _insert_rows(cursor, rows)
            rollups_apply(stream_id, fresh)
            stored += len(fresh)
    return stored


LAST_SEQ_SQL = "SELECT MAX(seq) FROM streams_sample WHERE stream_id = %s"
COLUMNS = '(stream_id, seq, t, "values", flags)'
INSERT_CHUNK = 500  # rows per INSERT statement: 2,500 parameters, under SQLite's limit
Row = tuple[int, int, int, str, str]


def json_text(value: object) -> str:
    """Return `value` as JSON text, as the model's JSONField would store it.

    orjson is several times faster than `json.dumps`; the rare values it encodes
    differently (NaN and infinities, which it turns into null) or not at all (ints
    beyond 64 bits, keys that are not strings) go through `json.dumps`, as before.
    """
    try:
        text = orjson.dumps(value)
    except TypeError:
        return json.dumps(value)
    if b"null" in text:
        return json.dumps(value)
    return text.decode()


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
