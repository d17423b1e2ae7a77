"""Importing history from a file: straight into blocks, each in one short transaction.

Two passes over the file (`import_files.file_batches` reads it column-wise).
The first checks all of it and writes nothing: seqs increase, times never
decrease, every cell is what its field takes, and everything comes after the
stream's newest stored sample (seq and t both), so a refusal leaves the
stream as it was. The second writes a block's worth of samples per
transaction, taking the bulk write turn (`write_turn`) so a live producer's
ticks go first.

The newest imported sample is always a row, as after compaction: each
transaction deletes the row the one before it left, stores it and the next
samples but one as a block, and the last one as a row. So "the highest stored
seq" stays the rows' (the write fence pushes and producers go on from), a
process killed at any moment leaves whole blocks and one row with seqs in
order, and a stream that gets a sample from elsewhere meanwhile stops the
import before its next block. Each transaction also merges its samples into
the per-second and per-minute rollups, computed column-wise, so `history`
answers over imported ranges as over live ones. A thread of its own reads,
encodes and computes rollups a block or two ahead of the transactions (it
never touches the database).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection, transaction

from streams.history.codec import block_encode_table, block_samples
from streams.history.columns import rollup_partials_columns
from streams.history.compaction import BLOCK_SAMPLES, DELETE_SQL
from streams.history.import_files import FileLayout, ImportRefused, file_batches
from streams.history.reader import samples_read
from streams.history.rollups import Stats, rollups_merge
from streams.history.store import (
    LAST_SEQ_SQL,
    WritePriority,
    block_insert,
    history_append,
    write_turn,
)
from streams.jsontext import json_text, json_value
from streams.messages import SampleFrame, sample_frame
from streams.models import Stream, field_type
from streams.producer.values import MAX_MAGNITUDE, MAX_TEXT_VALUE, value_problem
from streams.sources import SOURCES

__all__ = ["ImportCheck", "ImportRefused", "history_import", "history_import_check"]


Item = TypeVar("Item")


class ImportInterrupted(ImportRefused):
    """The stream changed under a running import; what was written before stays, whole."""


@dataclass(frozen=True)
class Newest:
    """A stream's newest stored sample."""

    seq: int
    t: int


@dataclass(frozen=True)
class ImportCheck:
    """What the first pass found: what will be stored, and what the stream held before."""

    layout: FileLayout
    samples: int
    first_seq: int
    last_seq: int
    first_t: int
    last_t: int
    skipped: int  # rows at or below the stream's newest seq (with skip_stored)
    newest: Newest | None
    floats: frozenset[str]  # number fields with a fraction somewhere: floats throughout


def iso(t: int) -> str:
    """Return milliseconds since the epoch as an ISO 8601 UTC time."""
    return datetime.fromtimestamp(t / 1000, tz=UTC).isoformat(timespec="milliseconds")


def stream_newest(stream_id: int) -> Newest | None:
    """Return the stream's newest stored sample's seq and t (None when it has none)."""
    newest = samples_read(stream_id, limit=1, newest_first=True)
    return Newest(newest[0][0], newest[0][1]) if newest else None


def history_import_check(
    stream: Stream,
    path: Path,
    *,
    ignore_extra: bool = False,
    skip_stored: bool = False,
    unquote: tuple[str, ...] = (),
    progress: Callable[[int], object] = lambda rows: None,
) -> ImportCheck:
    """Read the whole file and return what importing it would store; refuse what may not be."""
    if stream.running and stream.source_kind in SOURCES:
        raise ImportRefused(
            f"{stream.slug} is running: its producer writes seqs of its own; stop it first"
        )
    newest = stream_newest(stream.pk)
    layout, batches = file_batches(path, stream.fields, ignore_extra=ignore_extra, unquote=unquote)
    if skip_stored and not layout.has_seq:
        raise ImportRefused("--skip-stored needs the file's seq column to know what is stored")
    kinds = {field["name"]: field_type(field) for field in stream.fields}
    order = _Order(has_seq=layout.has_seq, kinds=kinds)
    skipped = 0
    for table in batches:
        order.check(table)
        if skip_stored and newest is not None:
            kept = _after(table, newest.seq)
            skipped += table.num_rows - kept.num_rows
            table = kept
        order.count(table)
        progress(table.num_rows)
    if order.samples == 0:
        raise ImportRefused(
            f"{path.name} holds no samples beyond seq {newest.seq}: all of it is stored"
            if skipped and newest is not None
            else f"{path.name} holds no samples"
        )
    if layout.has_seq and order.first_seq < 1:
        raise ImportRefused(f"row 1: seq {order.first_seq}; seqs start at 1")
    following = newest.seq + 1 if newest is not None else 1
    first_seq = order.first_seq if layout.has_seq else following
    check = ImportCheck(
        layout=layout,
        samples=order.samples,
        first_seq=first_seq,
        last_seq=order.last_seq if layout.has_seq else first_seq + order.samples - 1,
        first_t=order.first_t,
        last_t=order.last_t,
        skipped=skipped,
        newest=newest,
        floats=frozenset(order.floats),
    )
    _refuse_overlap(stream, check)
    return check


def _refuse_overlap(stream: Stream, check: ImportCheck) -> None:
    newest = check.newest
    if newest is None:
        return
    # Going on after an import that stopped, the next row may share the stored one's t.
    later = check.first_t > newest.t or (check.skipped > 0 and check.first_t == newest.t)
    if check.first_seq > newest.seq and later:
        return
    advice = ""
    if check.layout.has_seq and check.first_seq <= newest.seq <= check.last_seq:
        advice = (
            "; if an earlier import of this file stopped part way, --skip-stored imports"
            " the rows after the stored seq"
        )
    raise ImportRefused(
        f"{stream.slug} already holds samples up to seq {newest.seq}, t {newest.t}"
        f" ({iso(newest.t)}); a stream with history takes only samples after its newest"
        f" (seq and t both), and the file starts at seq {check.first_seq}, t {check.first_t}"
        f" ({iso(check.first_t)}){advice}. Nothing was written."
    )


def _after(table: pa.Table, seq: int) -> pa.Table:
    return table.filter(pc.greater(table.column("seq"), seq))


class _Order:
    """The first pass's running checks: seqs increase, times never go back; first and last."""

    def __init__(self, *, has_seq: bool, kinds: dict[str, str]) -> None:
        self.has_seq = has_seq
        self.kinds = kinds  # field → its declared type
        self.floats: set[str] = set()
        self.rows = 0  # rows read, for the file's row numbers
        self.samples = 0
        self.previous: tuple[int, int] | None = None  # (seq or 0, t) of the row read last
        self.first_seq = self.last_seq = self.first_t = self.last_t = 0

    def check(self, table: pa.Table) -> None:
        times = table.column("t").combine_chunks()
        seqs = table.column("seq").combine_chunks() if self.has_seq else None
        before_seq, before_t = self.previous or (None, None)
        if seqs is not None:
            self.ordered(seqs, before_seq, "seq")
        self.ordered(times, before_t, "t")
        self.values(table)
        self.floats.update(
            n.partition(":")[2] for n in table.column_names if n.startswith("float:")
        )
        self.rows += table.num_rows
        last_seq = seqs[-1].as_py() if seqs is not None else 0
        self.previous = (last_seq, times[-1].as_py())

    def ordered(self, column: pa.Array, before: int | None, name: str) -> None:
        """Refuse a seq that does not increase, or a t that goes back."""
        drop = _first_drop(column, before, strict=name == "seq")
        if drop is None:
            return
        value, row = column[drop].as_py(), self.rows + drop + 1
        after = column[drop - 1].as_py() if drop else before
        if name == "seq":
            raise ImportRefused(
                f"row {row}: seq {value} does not follow seq {after} (seqs must increase)"
            )
        raise ImportRefused(
            f"row {row}: t {value} ({iso(value)}) is earlier than the row before it,"
            f" t {after}: times must not decrease"
        )

    def values(self, table: pa.Table) -> None:
        """Refuse a value no push could store: a number past ±1e300 or not finite, a long text."""
        for name, column in zip(table.column_names, table.columns, strict=True):
            kind, _, field = name.partition(":")
            declared = self.kinds.get(field)
            if declared not in ("number", "text"):
                continue  # seq, t, flags, and structured fields (only their source writes them)
            index = _first_unstorable(kind, column.combine_chunks(), declared)
            if index is None:
                continue
            value = column[index].as_py()
            if kind == "json":
                value = json_value(value)
            raise ImportRefused(
                f"row {self.rows + index + 1}, column {field!r}: {repr(value)[:60]}"
                f" {value_problem(value, declared)}"
            )

    def count(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        times = table.column("t")
        if not self.samples:
            self.first_t = times[0].as_py()
            self.first_seq = table.column("seq")[0].as_py() if self.has_seq else 0
        self.last_t = times[-1].as_py()
        self.last_seq = table.column("seq")[-1].as_py() if self.has_seq else 0
        self.samples += table.num_rows


def _first_unstorable(kind: str, column: pa.Array, declared: str) -> int | None:
    """Return the index of a column's first value no push could store, or None."""
    if kind == "json":  # numbers mixing integers and floats: cell by cell
        for index, text in enumerate(column.to_pylist()):
            if text is not None and value_problem(json_value(text), declared):
                return index
        return None
    if kind == "text":
        bad = pc.greater(pc.utf8_length(column), MAX_TEXT_VALUE)
    else:
        bad = pc.greater(pc.abs(column), MAX_MAGNITUDE)
        if kind == "float":
            bad = pc.or_(bad, pc.invert(pc.is_finite(column)))
    return int(pc.index(bad, True).as_py()) if pc.any(bad).as_py() else None


def _first_drop(column: pa.Array, before: int | None, *, strict: bool) -> int | None:
    """Return the index of the first value below (strict: not above) the one before it."""
    if before is not None:
        column = pa.concat_arrays([pa.array([before], pa.int64()), column])
        offset = -1
    else:
        offset = 0
    if len(column) < 2:
        return None
    later, earlier = column.slice(1), column.slice(0, len(column) - 1)
    bad = pc.less_equal(later, earlier) if strict else pc.less(later, earlier)
    if not pc.any(bad).as_py():
        return None
    return int(pc.index(bad, True).as_py()) + 1 + offset


def history_import(
    stream: Stream,
    path: Path,
    check: ImportCheck,
    *,
    ignore_extra: bool = False,
    skip_stored: bool = False,
    unquote: tuple[str, ...] = (),
    block_samples: int = BLOCK_SAMPLES,
    progress: Callable[[int], object] = lambda stored: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Store the checked file's samples in blocks; return how many were stored.

    Stops after the current block when `should_stop` says so; what was stored
    stays, whole, and a second run with `skip_stored` goes on from there.
    """
    if stream_newest(stream.pk) != check.newest:
        raise ImportInterrupted(
            f"{stream.slug} got new samples since the file was checked; nothing was written"
        )
    _, batches = file_batches(
        path, stream.fields, ignore_extra=ignore_extra, unquote=unquote, floats=check.floats
    )
    if skip_stored and check.newest is not None:
        newest_seq = check.newest.seq
        batches = (_after(table, newest_seq) for table in batches)
    if not check.layout.has_seq:
        batches = _numbered(batches, check.first_seq)
    fence = check.newest.seq if check.newest else None
    stored = 0
    steps = _ahead(_steps(_chunks(batches, max(2, block_samples))))
    try:
        for step in steps:
            _step_store(stream, step, fence)
            fence = step.row["seq"]
            stored += step.samples
            progress(step.samples)
            if should_stop():
                break
    finally:
        steps.close()  # stops the reading thread
    return stored


def _numbered(batches: Iterable[pa.Table], first_seq: int) -> Iterator[pa.Table]:
    """Yield the batches with seqs from `first_seq` on, in file order."""
    following = first_seq
    for table in batches:
        ones = pa.repeat(pa.scalar(1, pa.int64()), table.num_rows)
        seqs = pc.add(pc.cumulative_sum(ones), following - 1)
        yield table.add_column(0, "seq", seqs)
        following += table.num_rows


def _chunks(batches: Iterable[pa.Table], size: int) -> Iterator[pa.Table]:
    """Yield the batches' rows again `size` at a time (the last chunk may be shorter)."""
    pending: list[pa.Table] = []
    rows = 0
    for table in batches:
        if not table.num_rows:
            continue
        pending.append(table)
        rows += table.num_rows
        while rows >= size:
            whole = _concat(pending)  # slices share the batches' memory: nothing is copied here
            yield whole.slice(0, size)
            rest = whole.slice(size)
            pending, rows = ([rest] if rest.num_rows else []), rest.num_rows
    if rows:
        yield _concat(pending)


def _concat(tables: list[pa.Table]) -> pa.Table:
    """Return the tables as one; a field typed differently among them becomes JSON in all."""
    names = [table.column_names for table in tables]
    if all(each == names[0] for each in names):
        return pa.concat_tables(tables)
    kinds: dict[str, set[str]] = {}
    for each in names:
        for name in each:
            kind, colon, field = name.partition(":")
            if colon:
                kinds.setdefault(field, set()).add(kind)
    mixed = {field for field, seen in kinds.items() if len(seen) > 1}
    return pa.concat_tables([_as_json(table, mixed) for table in tables])


def _as_json(table: pa.Table, fields: set[str]) -> pa.Table:
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind, colon, field = name.partition(":")
        if colon and field in fields and kind != "json":
            texts = [None if cell is None else json_text(cell) for cell in column.to_pylist()]
            name, column = f"json:{field}", pa.chunked_array([pa.array(texts, pa.string())])
        columns[name] = column
    return pa.table(columns)


@dataclass(frozen=True)
class _Step:
    """One transaction's work, made ready outside it: a block (or none) and the row after it."""

    replaces: int | None  # the seq of the row the step before left (it goes into this block)
    block: tuple[bytes, tuple[int, int], tuple[int, int], int] | None  # data, seqs, times, count
    partials: dict[int, dict[int, Stats]]  # rollups of the step's new samples but the row
    row: SampleFrame  # the newest sample, stored as a row
    samples: int  # how many of the file's samples the step stores


def _steps(chunks: Iterable[pa.Table]) -> Iterator[_Step]:
    """Yield each chunk as a step: the row before it and all but its last sample as a block."""
    tail: pa.Table | None = None
    for chunk in chunks:
        count = chunk.num_rows
        fresh = chunk.slice(0, count - 1)
        blocked = fresh if tail is None else _concat([tail, fresh])
        block = None
        if blocked.num_rows:
            seqs, times = blocked.column("seq"), blocked.column("t")
            block = (
                block_encode_table(blocked),
                (seqs[0].as_py(), seqs[-1].as_py()),
                (times[0].as_py(), times[-1].as_py()),
                blocked.num_rows,
            )
        tail = chunk.slice(count - 1)
        previous = None if blocked is fresh else blocked.column("seq")[0].as_py()
        row = sample_frame(*block_samples(tail)[0])
        yield _Step(previous, block, rollup_partials_columns(fresh), row, count)


def _step_store(stream: Stream, step: _Step, fence: int | None) -> None:
    """Store a step in one transaction, if the stream's newest row is still `fence`."""
    stream_id = stream.pk
    with write_turn(WritePriority.BULK), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(LAST_SEQ_SQL, [stream_id])
        found = cursor.fetchone()[0]
        if found != fence:
            raise ImportInterrupted(
                f"{stream.slug} got a sample from elsewhere (seq {found}) during the"
                f" import; stopped: it holds the import up to seq {fence}"
            )
        if step.replaces is not None:
            cursor.execute(DELETE_SQL, [stream_id, step.replaces, step.replaces])
            if cursor.rowcount != 1:
                raise ImportInterrupted(
                    f"the row of seq {step.replaces} moved during the import; stopped there"
                )
        if step.block is not None:
            data, seqs, times, count = step.block
            block_insert(stream_id, seqs=seqs, times=times, count=count, data=data)
        rollups_merge(stream_id, step.partials)
        # The newest stays a row (with its rollups), so the write fence is its seq.
        if history_append({stream_id: [step.row]}) != 1:
            raise ImportInterrupted(
                f"seq {step.row['seq']} was stored meanwhile; stopped before it"
            )


_DONE = object()


def _ahead(items: Iterator[Item], depth: int = 2) -> Generator[Item, None, None]:
    """Yield what `items` yields, made by a thread of its own up to `depth` items ahead.

    Reading, encoding and rollups (mostly pyarrow, which lets go of the GIL)
    overlap the transactions; an error in the thread is raised here.
    """
    made: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stopping = threading.Event()

    def offer(entry: tuple[Any, BaseException | None]) -> bool:
        """Queue an entry unless the caller stopped reading; return whether it went in."""
        while not stopping.is_set():
            try:
                made.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((_DONE, None))
        except BaseException as error:  # raised again in the caller's thread
            offer((None, error))

    thread = threading.Thread(target=make, name="import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = made.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stopping.set()
        thread.join()
