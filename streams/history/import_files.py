"""Reading a history file (CSV or Parquet) as batches of columns in a stream's terms.

A file has `t` (milliseconds since the epoch) or `time` (ISO 8601; UTC when it
names no offset), an optional `seq`, a column per declared field and an
optional `flags` (space-separated, or a list in Parquet): the columns of
Pulseboard's own exports. Each batch comes out as one Arrow table shaped as a
decoded block (`codec.block_table`): `seq` (when the file has it), `t`,
`<kind>:<field>` for every field the file holds and `flags` (a list of
strings, null where none), read column-wise by pyarrow's streaming readers: a
file of any length goes through in flat memory.

A number field whose cells are all integers (`5`, as the export writes an
integer) comes back as integers; a field with a fraction or an exponent
anywhere (`5.0`, `0.1`, `1e-300`) is read as floats throughout — in a batch by
itself, and in every batch once the first pass has seen one (`floats`) — so a
float field stays one block column even where a writer printed 1.0 as `1`. An
empty cell is a field the sample lacks. Integers past 64 bits, and fields of a
structured type, are carried as JSON text (`json:`), as the block codec keeps
them.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from streams.jsontext import json_text, json_value
from streams.models import field_type

READ_BLOCK_BYTES = 16 << 20  # bytes of CSV pyarrow parses at a time
PARQUET_BATCH_ROWS = 65_536
INTEGER_TEXT = r"^[+-]?[0-9]+$"
RESERVED = ("seq", "t", "time", "flags")
UTC_MS = pa.timestamp("ms", tz="UTC")
# An ISO 8601 time's offset after its clock time, when it names one.
ZONE_OFFSET = r"[T ][0-9:.,]+(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)$"
ZONE_PATTERN = re.compile(ZONE_OFFSET)
# A field's column in a batch is named `<kind>:<field>`, as in a decoded block
# (`codec.block_table`): numbers are `int:` or `float:` (`json:` past 64 bits).
COLUMN_KINDS = {pa.int64(): "int", pa.float64(): "float", pa.string(): "json"}


class ImportRefused(Exception):
    """The file cannot be imported as it is; the message says where and why."""


@dataclass(frozen=True)
class FileLayout:
    """Which of a file's columns hold what."""

    fields: list[str]  # declared fields the file has, in the file's order
    columns: dict[str, str]  # field → the file's column holding it
    has_seq: bool
    time_column: str  # "t", or "time" when the file has no t
    ignored: list[str]  # columns naming no declared field (with --ignore-extra)


def file_format(path: Path) -> str:
    """Return "csv" or "parquet" by the file's name; refuse any other."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise ImportRefused(f"{path.name}: import reads .csv, .csv.gz or .parquet files")


FIELD_PREFIX = "field:"


def column_field(name: str) -> str:
    """Return the field a file's column holds: its name, or `<name>` for `field:<name>`.

    The exports name a field called like a fixed column (seq, t, time, flags)
    `field:<name>`, so the column and the field both have a place.
    """
    field = name.removeprefix(FIELD_PREFIX)
    return field if name.startswith(FIELD_PREFIX) and field in RESERVED else name


def file_layout(
    names: list[str], fields: list[dict[str, Any]], *, ignore_extra: bool
) -> FileLayout:
    """Return what a header's columns hold, or refuse a file a stream cannot take."""
    declared = [field["name"] for field in fields]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportRefused(f"the file names {', '.join(map(repr, repeated))} more than once")
    if "t" not in names and "time" not in names:
        raise ImportRefused("the file has neither a t column (ms since the epoch) nor time")
    held = {
        column_field(name): name
        for name in names
        if name not in RESERVED and column_field(name) in declared
    }
    extra = [name for name in names if name not in RESERVED and name not in held.values()]
    if extra and not ignore_extra:
        listed = ", ".join(map(repr, declared)) or "none"
        raise ImportRefused(
            f"the file's column(s) {', '.join(map(repr, extra))} name no field of the stream "
            f"(its fields: {listed}); --ignore-extra skips them"
        )
    return FileLayout(
        fields=list(held),
        columns=held,
        has_seq="seq" in names,
        time_column="t" if "t" in names else "time",
        ignored=extra,
    )


def _unquoted(text: str, unquote: tuple[str, ...]) -> str:
    """Return an exported cell without the quote the export put before a formula-like start."""
    if unquote and text.startswith("'") and text[1:].startswith(unquote):
        return text[1:]
    return text


def file_batches(
    path: Path,
    fields: list[dict[str, Any]],
    *,
    ignore_extra: bool = False,
    unquote: tuple[str, ...] = (),
    floats: Collection[str] = (),
) -> tuple[FileLayout, Iterator[pa.Table]]:
    """Return the file's layout and its batches (see the module's docstring), read lazily.

    `unquote` lists the starts before which the CSV export wrote a quote (a
    cell that begins like a spreadsheet formula); such a quote is dropped again.
    `floats` names number fields read as floats in every batch, whatever their
    cells look like (fields that have a fraction somewhere in the file).
    """
    kinds = {field["name"]: field_type(field) for field in fields}
    kinds.update({name: "float" for name in floats if kinds.get(name) == "number"})
    if file_format(path) == "csv":
        names = [_unquoted(name, unquote) for name in _csv_header(path)]
        layout = file_layout(names, fields, ignore_extra=ignore_extra)
        raw: Iterator[pa.RecordBatch] = _csv_batches(path, names, layout)
    else:  # Parquet is no spreadsheet: its cells were written as they are
        parquet = _parquet_file(path)
        names = list(parquet.schema_arrow.names)
        layout = file_layout(names, fields, ignore_extra=ignore_extra)
        raw = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=_wanted(names, layout))
        unquote = ()
    return layout, _normalised(raw, layout, kinds, unquote)


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise ImportRefused(
            f"{path.name} is not a Parquet file pyarrow can read: {error}"
        ) from error


def _wanted(names: list[str], layout: FileLayout) -> list[str]:
    keep = {
        *layout.columns.values(),
        layout.time_column,
        "flags",
        *(["seq"] if layout.has_seq else []),
    }
    return [name for name in names if name in keep]


def _csv_header(path: Path) -> list[str]:
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise ImportRefused(f"{path.name} is empty: not even a header row")
    return header


def _csv_batches(path: Path, names: list[str], layout: FileLayout) -> Iterator[pa.RecordBatch]:
    """Yield the CSV's rows a batch at a time, every wanted column as text."""
    wanted = _wanted(names, layout)
    # All text: converting them here names the row of a cell that is not what its column takes.
    types: dict[str, pa.DataType] = {name: pa.string() for name in wanted}
    try:
        reader = pacsv.open_csv(
            path,  # pyarrow decompresses .gz by the name
            read_options=pacsv.ReadOptions(
                block_size=READ_BLOCK_BYTES, column_names=names, skip_rows=1
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=wanted,
                null_values=[""],  # only an empty cell: "NA", "null" or "nan" are values
                strings_can_be_null=True,
            ),
        )
        yield from reader
    except pa.ArrowInvalid as error:
        raise ImportRefused(f"the CSV cannot be read: {error}") from error


def _normalised(
    batches: Iterator[pa.RecordBatch],
    layout: FileLayout,
    kinds: dict[str, str],
    unquote: tuple[str, ...],
) -> Iterator[pa.Table]:
    """Yield each batch as seq?, t, <kind>:<field>…, flags; errors name the file's rows."""
    first_row = 1
    for batch in batches:
        if batch.num_rows:
            yield _batch_table(batch, layout, kinds, unquote, first_row)
        first_row += batch.num_rows


def _batch_table(
    batch: pa.RecordBatch,
    layout: FileLayout,
    kinds: dict[str, str],
    unquote: tuple[str, ...],
    first_row: int,
) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    if layout.has_seq:
        columns["seq"] = _integers(batch.column("seq"), "seq", first_row)
    columns["t"] = (
        _integers(batch.column("t"), "t", first_row)
        if layout.time_column == "t"
        else _times(batch.column("time"), first_row)
    )
    for name in layout.fields:
        held_in = layout.columns[name]  # what errors name: the file's column
        column = batch.column(held_in)
        kind = kinds[name]
        if kind == "float":
            columns[f"float:{name}"] = _numbers(column, held_in, first_row, floats=True)
        elif kind == "number":
            numbers = _numbers(column, held_in, first_row)
            columns[f"{COLUMN_KINDS[numbers.type]}:{name}"] = numbers
        elif kind == "text":
            columns[f"text:{name}"] = _texts(column, held_in, unquote, first_row)
        else:  # a structured field (trade, book): its JSON, as the export wrote it
            columns[f"json:{name}"] = _json_cells(column, held_in, first_row)
    if "flags" in batch.schema.names:
        columns["flags"] = _flags(batch.column("flags"), unquote)
    return pa.table(columns)


def _null_row(column: pa.Array, name: str, first_row: int) -> None:
    if column.null_count:
        row = first_row + pc.index(column.is_null(), True).as_py()
        raise ImportRefused(f"row {row}, column {name!r}: the cell is empty")


def _integers(column: pa.Array, name: str, first_row: int) -> pa.Array:
    """Return an integer column (seq, t) as int64, refusing empty and fractional cells."""
    _null_row(column, name, first_row)
    if pa.types.is_timestamp(column.type):
        return pc.cast(pc.cast(column, pa.timestamp("ms")), pa.int64())
    if pa.types.is_integer(column.type):
        return pc.cast(column, pa.int64())
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return _numbers_of_kind(column, name, first_row, pa.int64())
    raise ImportRefused(f"column {name!r} holds {column.type}, not integers")


def _times(column: pa.Array, first_row: int) -> pa.Array:
    """Return ISO 8601 times (or Parquet timestamps) as milliseconds since the epoch."""
    _null_row(column, "time", first_row)
    if pa.types.is_timestamp(column.type):
        stamps = column if column.type.tz else pc.assume_timezone(column, "UTC")
        return pc.cast(pc.cast(stamps, UTC_MS), pa.int64())
    text = pc.cast(column, pa.string())
    zoned = pc.match_substring_regex(text, ZONE_OFFSET)
    nothing = pa.nulls(len(text), pa.string())
    try:
        aware = pc.cast(pc.if_else(zoned, text, nothing), UTC_MS)
        naive = pc.cast(pc.if_else(zoned, nothing, text), pa.timestamp("ms"))
    except pa.ArrowInvalid:
        for index, cell in enumerate(text.to_pylist()):
            kind = UTC_MS if ZONE_PATTERN.search(cell) else pa.timestamp("ms")
            try:
                pc.cast(pa.array([cell]), kind)
            except pa.ArrowInvalid:
                raise ImportRefused(
                    f"row {first_row + index}, column 'time': {cell[:60]!r} is not an ISO 8601 time"
                ) from None
        raise
    # A time that names no offset is UTC.
    stamps = pc.coalesce(aware, pc.assume_timezone(naive, "UTC"))
    return pc.cast(stamps, pa.int64())


def _numbers(column: pa.Array, name: str, first_row: int, *, floats: bool = False) -> pa.Array:
    """Return a number field's cells as int64 when all are integers, else as float64.

    Integers past 64 bits come back as their JSON text (kept exactly).
    """
    if pa.types.is_integer(column.type) and not floats:
        return pc.cast(column, pa.int64())
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return pc.cast(column, pa.float64())
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise ImportRefused(f"column {name!r} holds {column.type}, not numbers")
    if not floats and pc.all(pc.match_substring_regex(column, INTEGER_TEXT)).as_py():
        try:
            return pc.cast(column, pa.int64())
        except pa.ArrowInvalid:  # past 64 bits: kept exactly, as JSON
            cells = column.to_pylist()
            return pa.array([None if c is None else json_text(int(c)) for c in cells], pa.string())
    return _numbers_of_kind(column, name, first_row, pa.float64())


def _numbers_of_kind(column: pa.Array, name: str, first_row: int, kind: pa.DataType) -> pa.Array:
    """Return text cells as numbers of `kind`, or refuse naming the first cell that is not one."""
    try:
        return pc.cast(column, kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for index, cell in enumerate(column.to_pylist()):
        if cell is None:
            continue
        try:
            pc.cast(pa.array([cell]), kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            what = "an integer" if pa.types.is_integer(kind) else "a number"
            raise ImportRefused(
                f"row {first_row + index}, column {name!r}: {cell[:60]!r} is not {what}"
            ) from None
    raise ImportRefused(f"column {name!r} cannot be read as {kind}")


def _texts(column: pa.Array, name: str, unquote: tuple[str, ...], first_row: int) -> pa.Array:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        raise ImportRefused(f"column {name!r} holds {column.type}, not text")
    return _unquoted_column(pc.cast(column, pa.string()), unquote)


def _unquoted_column(column: pa.Array, unquote: tuple[str, ...]) -> pa.Array:
    """Return text cells without the quote the export put before a formula-like start."""
    if not unquote:
        return column
    starts = "".join(f"\\x{ord(start[0]):02x}" for start in unquote)
    return pc.replace_substring_regex(column, f"^'([{starts}])", "\\1")


def _json_cells(column: pa.Array, name: str, first_row: int) -> pa.Array:
    cells = column.to_pylist()
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        try:
            json_value(cell)
        except ValueError:
            raise ImportRefused(
                f"row {first_row + index}, column {name!r}: {cell[:60]!r} is not JSON"
            ) from None
    return pc.cast(column, pa.string())


def _flags(column: pa.Array, unquote: tuple[str, ...]) -> pa.Array:
    """Return flags as lists of strings, null where a sample has none."""
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        lists = pc.cast(column, pa.list_(pa.string()))
        none = pa.nulls(len(lists), pa.list_(pa.string()))
        return pc.if_else(pc.equal(pc.list_value_length(lists), 0), none, lists)
    texts = _unquoted_column(pc.cast(column, pa.string()), unquote)
    empty = pc.or_kleene(pc.is_null(texts), pc.equal(texts, ""))
    lists = pc.split_pattern(texts, " ")
    return pc.if_else(empty, pa.nulls(len(texts), pa.list_(pa.string())), lists)
