"""A block of samples as bytes: one Parquet file (zstd) holding seq, t, every field and the flags.

Exact to the bit: a float column whose values all have at most a few decimals
(sensors to 2, the sine to 6) is kept as integers times 10**-k — delta-packed
they cost a byte or two — and only where dividing them back gives every value's
very bits (-0.0, NaN and infinities never qualify); other floats are kept as
they are (byte-stream-split). Integers within 64 bits, text and true/false
have their own columns; anything else in a field (a null, an integer past 64
bits, a list, a field holding numbers and text) is kept as its JSON text. A
block whose samples list their fields in differing orders keeps each sample's
values as JSON, so a dict comes back in the order it went in. Each field's
column is named for its kind and its name (`float.2:temperature`, `text:state`),
which is all a block needs to be read back: no metadata beside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from streams.jsontext import json_text, json_value

# (seq, t, values, flags): a sample as the row store holds it.
StoredSample = tuple[int, int, dict[str, Any], Sequence[str]]

MAX_DECIMALS = 9
EXACT_INTEGER_LIMIT = 2**53  # every integer below it is a float64 exactly
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
NEGATIVE_ZERO_BITS = -(2**63)  # -0.0 read as an int64
ZSTD_LEVEL = 9
WHOLE_VALUES = "values"  # the column of a block that keeps every sample's values as JSON


def json_column(value: object) -> Any:
    """Return a JSON column's value as the database gave it (text, bytes, or already decoded)."""
    if isinstance(value, bytes | memoryview):
        return json_value(bytes(value).decode())
    return json_value(value) if isinstance(value, str) else value


def _kind(values: list[Any]) -> str:
    """Return the column kind that holds every present value of a field exactly."""
    kinds = {type(value) for value in values if value is not _ABSENT}
    if kinds == {float}:
        return "float"
    if kinds == {int} and all(
        INT64_MIN <= value <= INT64_MAX for value in values if value is not _ABSENT
    ):
        return "int"
    if kinds == {str}:
        return "text"
    if kinds == {bool}:
        return "bool"
    return "json"


class _Absent:
    """A field a sample does not have (unlike a field whose value is null)."""


_ABSENT: Any = _Absent()


def float_decimals(column: pa.Array) -> int | None:
    """Return the fewest decimals that give back every value bit for bit, or None."""
    present = column.drop_null()
    if len(present) == 0:
        return None
    if not pc.all(pc.is_finite(present)).as_py():
        return None
    if pc.any(pc.equal(present.view(pa.int64()), NEGATIVE_ZERO_BITS)).as_py():
        return None
    for decimals in range(MAX_DECIMALS + 1):
        factor = 10.0**decimals
        scaled = pc.round(pc.multiply(present, factor))
        if pc.max(pc.abs(scaled)).as_py() >= EXACT_INTEGER_LIMIT:
            return None
        if pc.all(pc.equal(pc.divide(scaled, factor), present)).as_py():
            return decimals
    return None


def _field_column(values: list[Any]) -> tuple[pa.Array, str]:
    """Return a field's column as a decoded block holds it, and its kind (`float`, `int`, …)."""
    kind = _kind(values)
    present = [None if value is _ABSENT else value for value in values]
    if kind == "float":
        return pa.array(present, type=pa.float64()), kind
    if kind in KIND_TYPES:
        return pa.array(present, type=KIND_TYPES[kind]), kind
    texts = [None if value is _ABSENT else json_text(value) for value in values]
    return pa.array(texts, type=pa.string()), "json"


KIND_TYPES = {"int": pa.int64(), "text": pa.string(), "bool": pa.bool_()}


def _field_order(samples: Sequence[StoredSample]) -> list[str] | None:
    """Return the fields in the order samples list them, or None when samples disagree."""
    order: dict[str, int] = {}
    for _, _, values, _ in samples:
        last = -1
        for name in values:
            position = order.setdefault(name, len(order))
            if position < last:
                return None
            last = position
    return list(order)


def samples_table(samples: Sequence[StoredSample]) -> pa.Table:
    """Return samples (in seq order) as a decoded block's columns (`block_table`'s shape)."""
    columns: dict[str, pa.Array] = {
        "seq": pa.array([sample[0] for sample in samples], type=pa.int64()),
        "t": pa.array([sample[1] for sample in samples], type=pa.int64()),
    }
    order = _field_order(samples)
    if order is None:
        texts = [json_text(values) for _, _, values, _ in samples]
        columns[WHOLE_VALUES] = pa.array(texts, type=pa.string())
    else:
        for name in order:
            column, kind = _field_column([values.get(name, _ABSENT) for _, _, values, _ in samples])
            columns[f"{kind}:{name}"] = column
    if any(flags for _, _, _, flags in samples):
        columns["flags"] = pa.array(
            [list(flags) if flags else None for _, _, _, flags in samples],
            type=pa.list_(pa.string()),
        )
    return pa.table(columns)


def block_encode(samples: Sequence[StoredSample]) -> bytes:
    """Return the samples (in seq order) as one compressed block."""
    return block_encode_table(samples_table(samples))


def block_encode_table(table: pa.Table) -> bytes:
    """Return samples shaped as a decoded block (`block_table`'s columns) encoded as one block.

    A float column whose values all have a few decimals is kept as scaled
    integers; a field no sample has is left out; flags only when some sample
    has them.
    """
    columns: dict[str, pa.Array] = {}
    for name, chunked in zip(table.column_names, table.columns, strict=True):
        column = chunked.combine_chunks() if isinstance(chunked, pa.ChunkedArray) else chunked
        kind, colon, field = name.partition(":")
        if (colon or name == "flags") and column.null_count == len(column):
            continue
        if kind == "float":
            decimals = float_decimals(column)
            if decimals is not None:
                column = pc.cast(pc.round(pc.multiply(column, 10.0**decimals)), pa.int64())
                name = f"float.{decimals}:{field}"
        columns[name] = column
    return parquet_bytes(pa.table(columns))


def parquet_bytes(table: pa.Table) -> bytes:
    """Write the table as one row group: delta-packed integers, split floats, zstd."""
    encodings: dict[str, str] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type):
            encodings[name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(column.type):
            encodings[name] = "BYTE_STREAM_SPLIT"
    sink = pa.BufferOutputStream()
    pq.write_table(
        table,
        sink,
        row_group_size=max(1, table.num_rows),
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=[name for name in table.column_names if name not in encodings],
        column_encoding=encodings,
        write_statistics=False,
        store_schema=False,
    )
    return sink.getvalue().to_pybytes()


def block_table(data: bytes) -> pa.Table:
    """Return a block's columns: seq, t, `<kind>:<name>` per field (floats decoded), flags."""
    table = pq.read_table(pa.BufferReader(data))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind, colon, field = name.partition(":")
        if colon and kind.startswith("float."):
            decimals = int(kind.removeprefix("float."))
            column = pc.divide(pc.cast(column, pa.float64()), 10.0**decimals)
            name = f"float:{field}"
        elif colon and kind not in ("float", "json", *KIND_TYPES):
            raise ValueError(f"a block column of an unknown kind: {name!r}")
        columns[name] = column
    return pa.table(columns)


def block_fields(table: pa.Table) -> dict[str, tuple[str, pa.Array]]:
    """Return a decoded block's field columns by field name, each with its kind (`float`, `text`, …)."""
    fields = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind, colon, field = name.partition(":")
        if colon:
            fields[field] = (kind, column.combine_chunks())
    return fields


def block_samples(table: pa.Table) -> list[StoredSample]:
    """Return the samples of a (decoded, maybe filtered) block table, in its order."""
    seqs = table.column("seq").to_pylist()
    times = table.column("t").to_pylist()
    flags: Any = itertools.repeat(())
    if "flags" in table.column_names:
        flags = [cell or () for cell in table.column("flags").to_pylist()]
    if WHOLE_VALUES in table.column_names:
        values = [json_value(text) for text in table.column(WHOLE_VALUES).to_pylist()]
        return list(zip(seqs, times, values, flags, strict=False))  # flags may repeat ()
    names, cells, masks = [], [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind, colon, field = name.partition(":")
        if not colon:
            continue
        names.append(field)
        data = column.to_pylist()
        if kind == "json":
            data = [None if cell is None else json_value(cell) for cell in data]
        cells.append(data)
        masks.append(column.is_valid().to_pylist() if column.null_count else None)
    if not names:
        values = [{} for _ in seqs]
    elif all(mask is None for mask in masks):
        values = [dict(zip(names, row, strict=True)) for row in zip(*cells, strict=True)]
    else:
        present = [itertools.repeat(True) if mask is None else mask for mask in masks]
        values = [
            {name: cell for name, cell, here in zip(names, row, heres, strict=True) if here}
            for row, heres in zip(
                zip(*cells, strict=True), zip(*present, strict=False), strict=True
            )
        ]
    return list(zip(seqs, times, values, flags, strict=False))  # flags may repeat ()
