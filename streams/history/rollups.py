"""Per-second and per-minute rollups kept beside raw samples.

Each bucket keeps, per numeric field, [min, max, sum, count, first, last] (first
and last are the values of its earliest and latest sample, for candles), and
under FLAGS the number of samples that carried each flag, so an anomaly
survives any reduction. Writers merge the partial statistics of each new batch
into the bucket rows, so a bucket filled by several batches, or by a producer
that took over mid-bucket, is still exact: batches of a stream are stored in seq
order, so the bucket already stored holds the earlier samples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection

from streams.messages import SampleFrame

SECOND = 1_000
MINUTE = 60_000
TIERS = (SECOND, MINUTE)
TIER_NAMES = {SECOND: "1s", MINUTE: "1m"}
MAX_LISTED_BUCKETS = 200  # per tier, read by their starts; more are read as a range

# field → [min, max, sum, count, first, last]; FLAGS → {flag: count}. Rows written
# before first/last were kept have four numbers; readers fall back to the mean.
Stats = dict[str, Any]
FLAGS = "#flags"  # not a field: field names are what streams declare, and none starts with #


def rollup_partials(samples: Iterable[SampleFrame], width: int) -> dict[int, Stats]:
    """Return each bucket's statistics over `samples`, keyed by bucket start."""
    buckets: dict[int, Stats] = {}
    for sample in samples:
        t = sample["t"]
        stats_add(buckets.setdefault(t - t % width, {}), sample["values"], sample.get("flags"))
    return buckets


def stats_add(stats: Stats, values: dict[str, Any], flags: Iterable[str] | None = None) -> None:
    """Fold one sample into a bucket: its numeric values per field, and its flags.

    Samples come in seq order, so each one is the bucket's latest so far.
    """
    if flags:
        counts = stats.get(FLAGS)
        if counts is None:
            counts = stats[FLAGS] = {}
        for flag in flags:
            counts[flag] = counts.get(flag, 0) + 1
    for name, value in values.items():
        kind = type(value)
        if kind is not float and kind is not int:  # bool is neither; faster than isinstance
            continue
        current = stats.get(name)
        if current is None:
            stats[name] = [value, value, value, 1, value, value]
        else:
            if value < current[0]:
                current[0] = value
            if value > current[1]:
                current[1] = value
            current[2] += value
            current[3] += 1
            current[5] = value


def merge_stats(into: Stats, other: Stats) -> Stats:
    """Return `into` with `other` merged in: disjoint samples, `other`'s all later."""
    for name, entry in other.items():
        current = into.get(name)
        if name == FLAGS:
            counts = into.setdefault(FLAGS, {})
            for flag, count in entry.items():
                counts[flag] = counts.get(flag, 0) + count
        elif current is None:
            into[name] = list(entry)
        else:
            low, high, total, count = entry[:4]
            mean = total / count if count else None
            into[name] = [
                min(current[0], low),
                max(current[1], high),
                current[2] + total,
                current[3] + count,
                current[4] if len(current) > 4 else current[2] / current[3],
                entry[5] if len(entry) > 5 else mean,
            ]
    return into


def field_stats(stats: Stats) -> Iterator[tuple[str, list[float]]]:
    """Yield (field, [min, max, sum, count, first?, last?]) of a bucket, without its flags."""
    for name, entry in stats.items():
        if name != FLAGS:
            yield name, entry


def rollups_apply(stream_id: int, samples: list[SampleFrame]) -> None:
    """Merge a batch into the stream's rollup rows; call inside the batch's transaction.

    One read of the bucket rows the batch touches in both tiers, one upsert of the
    merged rows.
    """
    if not samples:
        return
    rollups_merge(stream_id, {width: rollup_partials(samples, width) for width in TIERS})


def rollups_merge(stream_id: int, partials: dict[int, dict[int, Stats]]) -> None:
    """Merge later samples' statistics (tier → bucket start → stats) into the stored buckets.

    One read of the bucket rows they touch in every tier, one upsert of the merged
    rows; call inside the transaction that stores the samples.
    """
    where, params = [], [stream_id]
    for width, buckets in partials.items():
        if len(buckets) > MAX_LISTED_BUCKETS:
            # Past a few hundred starts, a range (two parameters, however many buckets);
            # a batch covers consecutive buckets, so it reads little else.
            where.append("(tier = %s AND start >= %s AND start <= %s)")
            params += [width, min(buckets), max(buckets)]
        elif buckets:
            where.append(f"(tier = %s AND start IN ({', '.join(['%s'] * len(buckets))}))")
            params += [width, *buckets]
    if not where:
        return
    with connection.cursor() as cursor:
        # Plain SQL: the ORM's query building cost more than the query on small batches.
        cursor.execute(
            "SELECT tier, start, stats FROM streams_rollup"
            f" WHERE stream_id = %s AND ({' OR '.join(where)})",
            params,
        )
        existing = cursor.fetchall()
    for width, start, stats in existing:
        partial = partials[width].get(start)
        if partial is not None:
            # json, not orjson: sums of big ints stay exact, and Infinity reads back.
            partials[width][start] = merge_stats(json.loads(stats), partial)
    rollups_write(
        stream_id,
        [
            (width, start, stats)
            for width, buckets in partials.items()
            for start, stats in buckets.items()
        ],
    )


# Bucket rows per upsert statement: four parameters each, under any SQLite's limit.
UPSERT_CHUNK = 200


def rollups_write(stream_id: int, rows: list[tuple[int, int, Stats]]) -> None:
    """Insert bucket rows (tier, start, stats), replacing the stats of those already stored.

    Plain SQL, as the read above: the producer writes a few buckets on every tick,
    and the ORM's upsert cost several times the statement. The stats are the same
    JSON text the model's field would write.
    """
    value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), UPSERT_CHUNK):
            chunk = rows[offset : offset + UPSERT_CHUNK]
            cursor.execute(
                "INSERT INTO streams_rollup (stream_id, tier, start, stats) VALUES "
                + ", ".join([f"(%s, %s, %s, {value})"] * len(chunk))
                + " ON CONFLICT (stream_id, tier, start) DO UPDATE SET stats = excluded.stats",
                [
                    v
                    for tier, start, stats in chunk
                    for v in (stream_id, tier, start, json.dumps(stats))
                ],
            )
