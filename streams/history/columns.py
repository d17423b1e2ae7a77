"""Blocks and rollups from Arrow columns: what the codec and the rollups compute sample by sample.

A bulk load (manage.py import, a large push) holds its samples as columns shaped
as a decoded block (`codec.block_table`: seq, t, `<kind>:<field>`, flags);
folding them into rollups sample by sample costs far more than Arrow's grouped
statistics, so the same bucket statistics are computed here column-wise.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from streams.history.codec import WHOLE_VALUES, block_samples
from streams.history.rollups import FLAGS, TIERS, Stats, rollup_partials
from streams.messages import sample_frame


def rollup_partials_columns(table: pa.Table) -> dict[int, dict[int, Stats]]:
    """Return per tier the bucket statistics of a chunk's samples, as `rollup_partials` would.

    Column-wise (Arrow's grouped min, max, sum, count, first, last) for int and
    float columns; a chunk that needs Python's arithmetic (`_by_sample`) goes
    sample by sample.
    """
    if table.num_rows == 0:
        return {width: {} for width in TIERS}
    if any(
        _by_sample(name, column)
        for name, column in zip(table.column_names, table.columns, strict=True)
    ):
        frames = [sample_frame(*sample) for sample in block_samples(table)]
        return {width: rollup_partials(frames, width) for width in TIERS}
    return {width: _tier_partials(table, width) for width in TIERS}


def _by_sample(name: str, column: pa.ChunkedArray) -> bool:
    """Return whether a column's statistics need `stats_add`.

    JSON (whole values or a field's), NaN (where it falls decides a bucket's min
    and max), and integers whose sum could pass 64 bits (Python's sum is exact).
    """
    if name == WHOLE_VALUES or name.startswith("json:"):
        return True
    if name.startswith("int:"):
        extremes = pc.min_max(column).as_py()
        largest = max((abs(value) for value in extremes.values() if value is not None), default=0)
        return largest * len(column) >= INT_SUM_LIMIT
    return name.startswith("float:") and bool(pc.any(pc.is_nan(column)).as_py())


INT_SUM_LIMIT = 2**63


STATISTICS = ("min", "max", "sum", "count", "first", "last")


def _tier_partials(table: pa.Table, width: int) -> dict[int, Stats]:
    """Return one tier's bucket statistics: every numeric field in one grouping, then flags."""
    starts = _bucket_starts(table.column("t").combine_chunks(), width)
    numeric = [
        (name.partition(":")[2], column)
        for name, column in zip(table.column_names, table.columns, strict=True)
        if name.startswith(("int:", "float:")) and column.null_count < len(column)
    ]
    columns = {"start": starts, **{f"v{i}": column for i, (_, column) in enumerate(numeric)}}
    statistics = (
        pa.table(columns)
        .group_by("start", use_threads=False)  # one thread: first and last in the chunk's order
        .aggregate([(f"v{i}", kind) for i in range(len(numeric)) for kind in STATISTICS])
    )
    bucket_starts = statistics.column("start").to_pylist()
    buckets: dict[int, Stats] = {start: {} for start in bucket_starts}
    for i, (field, _) in enumerate(numeric):
        entries = [statistics.column(f"v{i}_{kind}").to_pylist() for kind in STATISTICS]
        for start, *entry in zip(bucket_starts, *entries, strict=True):
            if entry[3]:  # samples that have the field
                buckets[start][field] = entry
    if "flags" in table.column_names:
        _flags_counted(buckets, starts, table.column("flags").combine_chunks())
    return buckets


def _flags_counted(buckets: dict[int, Stats], starts: pa.Array, flags: pa.Array) -> None:
    """Add to each bucket how many of its samples carried each flag."""
    if flags.null_count == len(flags):
        return
    flagged = pa.table(
        {"start": pc.take(starts, pc.list_parent_indices(flags)), "flag": pc.list_flatten(flags)}
    )
    counted = flagged.group_by(["start", "flag"], use_threads=False).aggregate([("flag", "count")])
    columns = (counted.column(name).to_pylist() for name in ("start", "flag", "flag_count"))
    for start, flag, count in zip(*columns, strict=True):
        buckets[start].setdefault(FLAGS, {})[flag] = count


def _bucket_starts(times: pa.Array, width: int) -> pa.Array:
    """Return each t's bucket start, t - t mod width (floored, as Python's % is)."""
    starts = pc.multiply(pc.divide(times, width), width)  # integer division truncates
    return pc.if_else(pc.less(times, starts), pc.subtract(starts, width), starts)
