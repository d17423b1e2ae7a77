"""Samples for tests: made as the producer stamps them, stored, and read back.

`stored_samples` is the one reader of what a stream has stored; it reads
through the history reader resumes use, so it sees every stored sample
whatever form history keeps it in.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from channels.db import database_sync_to_async

from streams.history.codec import block_samples, block_table, json_column
from streams.history.samples import history_after
from streams.history.store import history_append
from streams.messages import SampleFrame, sample_frame
from streams.models import Stream

# Every sample the tests store is one second after the one before, from here.
EPOCH_MS = 1_700_000_000_000
EVERYTHING = 2**62


class StoredSample(NamedTuple):
    seq: int
    t: int
    values: dict[str, Any]
    flags: list[str]


def stored_samples(stream: Stream) -> list[StoredSample]:
    """Return every sample the stream has stored, oldest first."""
    return [
        StoredSample(frame["seq"], frame["t"], frame["values"], list(frame.get("flags", ())))
        for frame in history_after(stream.pk, 0, limit=EVERYTHING)
    ]


stored_samples_async = database_sync_to_async(stored_samples)


def stored_values(stream: Stream) -> list[dict[str, Any]]:
    """Return the values of every sample the stream has stored, oldest first."""
    return [sample.values for sample in stored_samples(stream)]


def samples_make(seqs: range | list[int]) -> list[SampleFrame]:
    """Return samples with the given seqs, as the producer stamps them."""
    return [
        sample_frame(seq, EPOCH_MS + 1000 * seq, {"temperature": 20 + seq / 100}) for seq in seqs
    ]


def samples_store(stream: Stream, seqs: range | list[int]) -> list[SampleFrame]:
    """Store samples with the given seqs in the stream's history and return them."""
    samples = samples_make(seqs)
    history_append({stream.pk: samples})
    return samples


store = database_sync_to_async(samples_store)


ROWS_OF = (
    'SELECT s.seq, s.t, s."values", s.flags FROM streams_sample s'
    " JOIN streams_stream st ON s.stream_id = st.id WHERE st.slug = {p}"
)
BLOCKS_OF = (
    "SELECT b.data FROM streams_sampleblock b"
    " JOIN streams_stream st ON b.stream_id = st.id WHERE st.slug = {p}"
)


def database_samples(database_url: str, slug: str) -> list[StoredSample]:
    """Return a stream's stored samples from a database other processes write, oldest first.

    Rows and blocks alike, read as the history reader does (rows first: a row
    moved into a block meanwhile is found there; a sample seen in both counts once).
    """
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10) as db:
            rows = db.execute(ROWS_OF.format(p="?"), [slug]).fetchall()
            blocks = db.execute(BLOCKS_OF.format(p="?"), [slug]).fetchall()
    else:
        import psycopg

        with psycopg.connect(database_url) as db:
            rows = db.execute(ROWS_OF.format(p="%s"), [slug]).fetchall()
            blocks = db.execute(BLOCKS_OF.format(p="%s"), [slug]).fetchall()
    samples = {
        seq: StoredSample(seq, t, json_column(values), list(json_column(flags) or ()))
        for seq, t, values, flags in rows
    }
    for (data,) in blocks:
        for seq, t, values, flags in block_samples(block_table(bytes(data))):
            samples[seq] = StoredSample(seq, t, values, list(flags))
    return [samples[seq] for seq in sorted(samples)]
