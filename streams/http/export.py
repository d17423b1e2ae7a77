"""GET /api/streams/<slug>/export.csv, .json and .parquet: the raw range, streamed part by part.

Every format reads through the one reader. CSV and Parquet read a block's
samples as its Arrow table and turn whole columns at once; rows (the hot tail)
and anything a column cannot say exactly go sample by sample. Both ways write
the same bytes: a column's cell is taken from Arrow only where Arrow's text is
the text Python's csv module writes for that value, and from Python elsewhere.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from channels.db import database_sync_to_async
from django.http import HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from streams.history.codec import (
    WHOLE_VALUES,
    StoredSample,
    block_fields,
    block_samples,
    json_text,
    json_value,
)
from streams.history.reader import SamplesPart, samples_pages, samples_parts
from streams.http.common import api_error
from streams.http.params import TIME_RANGE, BadParameter, IntQuery, time_range
from streams.http.viewer import viewer_required_json, viewer_stream
from streams.models import Stream, field_type

EXPORT_PAGE = 5_000
MAX_SEQ = 2**63 - 1
FIRST_SEQ = IntQuery(
    "first_seq", "Only samples from this seq on (what a widget shows).", 0, MAX_SEQ
)
LAST_SEQ = IntQuery("last_seq", "Only samples up to this seq (inclusive).", 0, MAX_SEQ)
PARAMETERS = (*TIME_RANGE, FIRST_SEQ, LAST_SEQ)
SeqRange = tuple[int, int]
# A spreadsheet runs a cell starting with one of these as a formula (a field named
# `=1+1`, a pushed `=HYPERLINK(...)`): text cells that do get a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Python's csv module (the excel dialect) quotes a cell holding one of these.
CSV_QUOTED = (",", '"', "\r", "\n")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}
Item = TypeVar("Item")


async def _in_database_thread(items: Iterator[Item]) -> AsyncIterator[Item]:
    """Yield what a blocking iterator yields, each step run in the database thread."""
    while (item := await database_sync_to_async(next)(items, None)) is not None:
        yield item


def _reader_range(seqs: SeqRange | None) -> dict[str, int | None]:
    """Return the reader's seq bounds for [first, last] seq (None: every seq)."""
    first, last = seqs if seqs is not None else (None, None)
    return {"after_seq": None if first is None else first - 1, "until_seq": last}


def export_pages(
    stream_id: int, start: int, end: int, seqs: SeqRange | None = None
) -> AsyncIterator[list[StoredSample]]:
    """Yield the raw range a page at a time, so memory stays flat whatever its length.

    Pages come from the one reader (blocks and rows), each from where the last
    one stopped by seq, so each page costs the same however deep into a long
    range it is. `seqs` narrows it to [first, last] seq: exactly the samples a
    widget holds.
    """
    pages = samples_pages(stream_id, start=start, end=end, page=EXPORT_PAGE, **_reader_range(seqs))
    return _in_database_thread(pages)


def export_parts(
    stream_id: int, start: int, end: int, seqs: SeqRange | None = None
) -> Iterator[SamplesPart]:
    """Return the raw range as the reader's parts: a block's table, or a page of rows."""
    return samples_parts(stream_id, start=start, end=end, page=EXPORT_PAGE, **_reader_range(seqs))


def iso(t: int) -> str:
    return datetime.fromtimestamp(t / 1000, tz=UTC).isoformat(timespec="milliseconds")


# -- CSV ------------------------------------------------------------------------


def csv_body(
    stream: Stream, start: int, end: int, seqs: SeqRange | None = None
) -> AsyncIterator[bytes]:
    return _in_database_thread(csv_chunks(stream, start, end, seqs))


def csv_chunks(
    stream: Stream, start: int, end: int, seqs: SeqRange | None = None
) -> Iterator[bytes]:
    """Yield the CSV export: its header, then a chunk per block or page of rows."""
    names = [field["name"] for field in stream.fields]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["seq", "t", "time", *(inert(column_name(name)) for name in names), "flags"])
    yield _taken(buffer)
    for part in export_parts(stream.pk, start, end, seqs):
        if isinstance(part, list):
            csv_rows(writer, part, names)
            yield _taken(buffer)
        else:
            yield csv_table(part, names)


def _taken(buffer: io.StringIO) -> bytes:
    """Return what was written to the buffer as UTF-8, and empty it."""
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


def csv_rows(writer: Any, rows: list[StoredSample], names: list[str]) -> None:
    """Write samples as CSV rows, one sample at a time."""
    for seq, t, values, flags in rows:
        cells = [_cell(values.get(name)) for name in names]
        writer.writerow([seq, t, iso(t), *cells, inert(" ".join(flags))])


def inert(text: str) -> str:
    """Return `text` as a spreadsheet shows it and never runs it (a quote before a formula)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    # Numbers stay numbers (-3.5 is written -3.5); JSON starts with { or [.
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, str):
        return inert(value)
    return "" if value is None else value


def csv_table(table: pa.Table, names: list[str]) -> bytes:
    """Return a block table's samples as CSV lines, the bytes `csv_rows` writes for them."""
    if WHOLE_VALUES in table.column_names:  # each sample's values as JSON: sample by sample
        buffer = io.StringIO()
        csv_rows(csv.writer(buffer), block_samples(table), names)
        return _taken(buffer)
    fields = block_fields(table)
    t = table.column("t").combine_chunks()
    cells = [
        pc.cast(table.column("seq").combine_chunks(), pa.string()),
        pc.cast(t, pa.string()),
        _iso_cells(t),
    ]
    for name in names:
        kind, column = fields.get(name, ("absent", None))
        cells.append(CSV_CELLS.get(kind, _python_cells)(column, kind))
    if "flags" in table.column_names:
        flags = pc.binary_join(table.column("flags").combine_chunks(), " ")
        cells.append(_text_cells(flags, "text"))
    else:
        cells.append(NO_CELLS)
    lines = pc.binary_join_element_wise(*cells, ",", null_handling="replace", null_replacement="")
    whole = pa.ListArray.from_arrays(pa.array([0, len(lines)], type=pa.int32()), lines)
    return pc.binary_join(whole, "\r\n")[0].as_buffer().to_pybytes() + b"\r\n"


def _float_cells(column: pa.Array, kind: str) -> pa.Array:
    """Return floats as csv writes them (repr): Arrow's shortest digits where its form is repr's.

    Arrow and repr agree on the digits; they differ in form only, so Arrow's text
    is kept where the form is the same — plain decimals from 1e-4 up to 1e16
    (with repr's `.0` on whole numbers), and exponents from 1e16 up and below
    1e-9 — and every other value (1e-05, 1.5e+15, NaN, inf) is written by Python.
    """
    text = pc.cast(column, pa.string())
    magnitude = pc.abs(column)
    exponent = pc.match_substring(text, "e")
    plain = pc.or_(
        pc.and_(pc.greater_equal(magnitude, 1e-4), pc.less(magnitude, 1e16)),
        pc.equal(magnitude, 0.0),
    )
    scientific = pc.or_(pc.greater_equal(magnitude, 1e16), pc.less(magnitude, 1e-9))
    same = pc.if_else(exponent, scientific, plain)
    whole = pc.and_(pc.invert(exponent), pc.equal(pc.floor(column), column))
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return _patched(text, same, column)


def _int_cells(column: pa.Array, kind: str) -> pa.Array:
    return pc.cast(column, pa.string())


def _bool_cells(column: pa.Array, kind: str) -> pa.Array:
    return pc.if_else(column, "True", "False")


def _text_cells(column: pa.Array, kind: str) -> pa.Array:
    """Return text as `inert` makes it and csv quotes it."""
    formula = functools.reduce(pc.or_, [pc.starts_with(column, start) for start in FORMULA_STARTS])
    text = pc.if_else(formula, pc.binary_join_element_wise("'", column, ""), column)
    quoted = functools.reduce(pc.or_, [pc.match_substring(text, char) for char in CSV_QUOTED])
    escaped = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(quoted, escaped, text)


NO_CELLS = pa.scalar(None, type=pa.string())  # a column of empty cells


def _absent_cells(column: None, kind: str) -> pa.Scalar:
    return NO_CELLS


def _python_cells(column: pa.Array, kind: str) -> pa.Array:
    """Return a column's cells written by Python, value by value (JSON values, unknown kinds)."""
    values = column.to_pylist()
    if kind == "json":
        values = [None if text is None else json_value(text) for text in values]
    return pa.array(csv_written([_cell(value) for value in values]), type=pa.string())


CSV_CELLS: dict[str, Callable[[Any, str], Any]] = {
    "float": _float_cells,
    "int": _int_cells,
    "bool": _bool_cells,
    "text": _text_cells,
    "absent": _absent_cells,
}


# `iso` divides t by 1000 in floating point: below 2**33 seconds (1697–2242) that
# is within half a microsecond, so it writes t's own milliseconds, as Arrow does;
# further out it may write the millisecond before, which Python then writes too.
ISO_EXACT_T = 2**33 * 1000


def _iso_cells(t: pa.Array) -> pa.Array:
    """Return `iso(t)` of every t: Arrow's text where it is isoformat's, Python's elsewhere."""
    text = pc.cast(pc.cast(t, pa.timestamp("ms")), pa.string())  # 2023-11-14 22:13:20.300
    text = pc.binary_join_element_wise(pc.binary_replace_slice(text, 10, 11, "T"), "+00:00", "")
    same = pc.less(pc.abs(t), ISO_EXACT_T)
    return _patched(text, same, t, iso)


def _patched(
    text: pa.Array, same: pa.Array, column: pa.Array, cell: Callable[[Any], Any] = _cell
) -> pa.Array:
    """Return `text` with the cells where it is not `same` written by Python from `column`."""
    differs = pc.invert(pc.fill_null(same, True))
    where = pc.indices_nonzero(differs)
    if len(where) == 0:
        return text
    values = pc.take(column, where).to_pylist()
    written = csv_written([cell(value) for value in values])
    return pc.replace_with_mask(text, differs, pa.array(written, type=pa.string()))


def csv_written(cells: list[Any]) -> list[str]:
    """Return each cell as csv.writer writes it in a row (quoted where CSV needs it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    texts = []
    for cell in cells:
        writer.writerow([cell, ""])  # a second cell: csv quotes a lone empty one
        texts.append(buffer.getvalue()[: -len(",\r\n")])
        buffer.seek(0)
        buffer.truncate()
    return texts


# -- JSON -----------------------------------------------------------------------


async def json_body(
    stream: Stream, start: int, end: int, seqs: SeqRange | None = None
) -> AsyncIterator[bytes]:
    header = {"stream": stream.slug, "from": start, "to": end, "fields": stream.fields}
    yield orjson.dumps(header)[:-1] + b',"samples":['
    first = True
    async for rows in export_pages(stream.pk, start, end, seqs):
        parts = []
        for seq, t, values, flags in rows:
            sample: dict[str, Any] = {"seq": seq, "t": t, "values": values}
            if flags:
                sample["flags"] = flags
            try:
                parts.append(orjson.dumps(sample))
            except TypeError:  # an integer past 64 bits, which orjson does not write
                parts.append(json_text(sample).encode())
        chunk = b",".join(parts)
        yield chunk if first else b"," + chunk
        first = False
    yield b"]}"


# -- Parquet --------------------------------------------------------------------

# Samples per row group: four blocks, so readers skip by statistics and the
# server holds at most this many samples at once (twice as many held 20 MiB more).
PARQUET_ROW_GROUP = 65_536
PARQUET_TYPES = {"number": pa.float64(), "text": pa.string()}  # others: their JSON text
FLAGS_TYPE = pa.list_(pa.string())
NO_FLAGS = pa.scalar([], type=FLAGS_TYPE)
FIXED_COLUMNS = ("seq", "t", "time", "flags")


def parquet_body(
    stream: Stream, start: int, end: int, seqs: SeqRange | None = None
) -> AsyncIterator[bytes]:
    return _in_database_thread(parquet_chunks(stream, start, end, seqs))


def parquet_schema(fields: list[dict[str, Any]]) -> pa.Schema:
    """Return the export's columns: seq, t, time, one per declared field, flags."""
    columns = [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("t", pa.int64(), nullable=False),
        pa.field("time", pa.timestamp("ms", tz="UTC"), nullable=False),
    ]
    for field in fields:
        kind = field_type(field)
        metadata = {"unit": str(field.get("unit", "")), "type": kind}
        column_type = PARQUET_TYPES.get(kind, pa.string())
        columns.append(pa.field(column_name(field["name"]), column_type, metadata=metadata))
    columns.append(pa.field("flags", FLAGS_TYPE, nullable=False))
    return pa.schema(columns)


def column_name(name: str) -> str:
    """Return a field's column name: its own, or `field:<name>` where a fixed column has it."""
    return f"field:{name}" if name in FIXED_COLUMNS else name


class _Chunks:
    """A write-only file that hands over what was written since the last time it was asked."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.parts.append(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def taken(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def parquet_chunks(
    stream: Stream, start: int, end: int, seqs: SeqRange | None = None
) -> Iterator[bytes]:
    """Yield the Parquet export a row group at a time, then its footer."""
    schema = parquet_schema(stream.fields)
    sink = _Chunks()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    pending: list[pa.Table] = []
    held = 0
    for part in export_parts(stream.pk, start, end, seqs):
        table = parquet_table(part, stream.fields, schema)
        pending.append(table)
        held += table.num_rows
        if held >= PARQUET_ROW_GROUP:
            writer.write_table(pa.concat_tables(pending), row_group_size=held)
            pending, held = [], 0
            yield sink.taken()
    if pending:
        writer.write_table(pa.concat_tables(pending), row_group_size=held)
    writer.close()
    yield sink.taken()


def parquet_table(part: SamplesPart, fields: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Return a part of the range in the export's columns."""
    if isinstance(part, list) or WHOLE_VALUES in part.column_names:
        rows = part if isinstance(part, list) else block_samples(part)
        return _parquet_rows(rows, fields, schema)
    stored = block_fields(part)
    t = part.column("t").combine_chunks()
    columns: list[Any] = [
        part.column("seq").combine_chunks(),
        t,
        pc.cast(t, schema.field("time").type),
    ]
    for field in fields:
        kind, column = stored.get(field["name"], ("absent", None))
        columns.append(_parquet_column(field_type(field), kind, column, part.num_rows))
    if "flags" in part.column_names:
        flags = part.column("flags").combine_chunks()
        columns.append(pc.if_else(pc.is_null(flags), NO_FLAGS, flags))
    else:
        columns.append(pa.repeat(NO_FLAGS, part.num_rows))
    return pa.Table.from_arrays(columns, schema=schema)


# (declared type, block column kind) pairs whose column is already the export's.
PARQUET_AS_STORED = {("number", "float"), ("text", "text"), ("trade", "json"), ("book", "json")}


def _parquet_column(declared: str, kind: str, column: pa.Array | None, count: int) -> pa.Array:
    """Return a block's column of a field as the export holds it."""
    column_type = PARQUET_TYPES.get(declared, pa.string())
    if column is None:
        return pa.nulls(count, type=column_type)
    if (declared, kind) in PARQUET_AS_STORED:
        return column
    if (declared, kind) == ("number", "int"):
        return pc.cast(column, pa.float64(), safe=False)
    values = column.to_pylist()
    if kind == "json":
        values = [None if text is None else json_value(text) for text in values]
    return _parquet_values(declared, values)


def _parquet_values(declared: str, values: list[Any]) -> pa.Array:
    """Return a field's values as its export column: numbers as floats, text, or JSON text."""
    if declared == "number":
        numbers = [
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
            for value in values
        ]
        return pa.array(numbers, type=pa.float64())
    if declared == "text":
        texts = [
            value if isinstance(value, str) or value is None else json_text(value)
            for value in values
        ]
        return pa.array(texts, type=pa.string())
    return pa.array(
        [None if value is None else json_text(value) for value in values], type=pa.string()
    )


def _parquet_rows(
    rows: list[StoredSample], fields: list[dict[str, Any]], schema: pa.Schema
) -> pa.Table:
    """Return samples (rows, or a block kept whole) in the export's columns."""
    t = pa.array([sample[1] for sample in rows], type=pa.int64())
    columns: list[Any] = [
        pa.array([sample[0] for sample in rows], type=pa.int64()),
        t,
        pc.cast(t, schema.field("time").type),
    ]
    for field in fields:
        name = field["name"]
        columns.append(_parquet_values(field_type(field), [sample[2].get(name) for sample in rows]))
    columns.append(pa.array([list(sample[3]) for sample in rows], type=FLAGS_TYPE))
    return pa.Table.from_arrays(columns, schema=schema)


# -- the view -------------------------------------------------------------------

BODIES = {"csv": csv_body, "json": json_body, "parquet": parquet_body}


@require_GET
@viewer_required_json
def stream_export(request: HttpRequest, slug: str, extension: str) -> Any:
    """Stream the raw samples of [from, to) as CSV, JSON or Parquet (of seq first_seq to last_seq)."""
    if extension not in BODIES:
        return api_error("unknown_format", "Export as .csv, .json or .parquet.", 404)
    stream = viewer_stream(request, slug)
    if stream is None:
        return api_error("unknown_stream", f"There is no stream {slug!r} you may see.", 404)
    try:
        start, end = time_range(request)
        seqs = (FIRST_SEQ.parse(request, 0), LAST_SEQ.parse(request, MAX_SEQ))
    except BadParameter as error:
        return api_error("invalid_field", str(error), 400)
    body = BODIES[extension](stream, start, end, seqs)
    response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[extension])
    filename = f"{slug}-{start}-{end}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
