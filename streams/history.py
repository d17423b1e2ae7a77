"""Stored samples: writing batches, reading ranges for resume and backfill, retention."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import Max, Min

from streams.models import Sample
from streams.protocol import SampleFrame
from streams.rollups import rollups_apply


def sample_frame(seq: int, t: int, values: dict, flags: Iterable[str] = ()) -> SampleFrame:
    """Return a sample as it travels in `data` frames (flags only when there are some)."""
    frame: SampleFrame = {"seq": seq, "t": t, "values": values}
    flags = list(flags)
    if flags:
        frame["flags"] = flags
    return frame


def history_append(batches: dict[int, list[SampleFrame]]) -> int:
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


def history_first_seq(stream_id: int) -> int:
    """Return the lowest stored seq of a stream (retention deletes from the start), 0 if none."""
    return Sample.objects.filter(stream_id=stream_id).aggregate(first=Min("seq"))["first"] or 0


def history_last_seq(stream_id: int) -> int:
    """Return the highest stored seq of a stream, 0 when it has none."""
    return Sample.objects.filter(stream_id=stream_id).aggregate(last=Max("seq"))["last"] or 0


def _frames(rows: Iterable[tuple[int, int, dict, list]]) -> list[SampleFrame]:
    return [sample_frame(seq, t, values, flags) for seq, t, values, flags in rows]


def history_after(
    stream_id: int, since: int, *, until: int | None = None, limit: int
) -> list[SampleFrame]:
    """Return up to `limit` stored samples with since < seq (≤ until), oldest first."""
    rows = Sample.objects.filter(stream_id=stream_id, seq__gt=since)
    if until is not None:
        rows = rows.filter(seq__lte=until)
    return _frames(rows.order_by("seq").values_list("seq", "t", "values", "flags")[:limit])


def history_latest(stream_id: int, count: int) -> list[SampleFrame]:
    """Return the last `count` stored samples of a stream, oldest first."""
    if count <= 0:
        return []
    rows = Sample.objects.filter(stream_id=stream_id).order_by("-seq")
    newest_first = list(rows.values_list("seq", "t", "values", "flags")[:count])
    return _frames(reversed(newest_first))


def history_trim(stream_id: int, older_than_ms: int) -> int:
    """Delete a stream's samples older than the cutoff; return how many went."""
    deleted, _ = Sample.objects.filter(stream_id=stream_id, t__lt=older_than_ms).delete()
    return deleted
