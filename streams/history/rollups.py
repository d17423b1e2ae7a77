"""Per-second and per-minute rollups (min, max, sum, count) kept beside raw samples.

Writers merge the partial statistics of each new batch into the bucket rows, so a
bucket filled by several batches, or by a producer that took over mid-bucket, is
still exact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection

from streams.contract import SampleFrame
from streams.models import Rollup

SECOND = 1_000
MINUTE = 60_000
TIERS = (SECOND, MINUTE)
TIER_NAMES = {SECOND: "1s", MINUTE: "1m"}
MAX_LISTED_BUCKETS = 200  # per tier, read by their starts; more are read as a range

Stats = dict[str, list[float]]  # field → [min, max, sum, count]


def rollup_partials(samples: Iterable[SampleFrame], width: int) -> dict[int, Stats]:
    """Return each bucket's statistics over `samples`, keyed by bucket start."""
    buckets: dict[int, Stats] = {}
    for sample in samples:
        t = sample["t"]
        stats_add(buckets.setdefault(t - t % width, {}), sample["values"])
    return buckets


def stats_add(stats: Stats, values: dict[str, Any]) -> None:
    """Fold one sample's numeric values into a bucket's [min, max, sum, count] per field."""
    for name, value in values.items():
        kind = type(value)
        if kind is not float and kind is not int:  # bool is neither; faster than isinstance
            continue
        current = stats.get(name)
        if current is None:
            stats[name] = [value, value, value, 1]
        else:
            if value < current[0]:
                current[0] = value
            if value > current[1]:
                current[1] = value
            current[2] += value
            current[3] += 1


def merge_stats(into: Stats, other: Stats) -> Stats:
    """Return `into` with `other` merged in (both cover disjoint samples)."""
    for name, (low, high, total, count) in other.items():
        current = into.get(name)
        if current is None:
            into[name] = [low, high, total, count]
        else:
            into[name] = [
                min(current[0], low),
                max(current[1], high),
                current[2] + total,
                current[3] + count,
            ]
    return into


def rollups_apply(stream_id: int, samples: list[SampleFrame]) -> None:
    """Merge a batch into the stream's rollup rows; call inside the batch's transaction.

    One read of the bucket rows the batch touches in both tiers, one upsert of the
    merged rows.
    """
    if not samples:
        return
    partials = {width: rollup_partials(samples, width) for width in TIERS}
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
    Rollup.objects.bulk_create(
        [
            Rollup(stream_id=stream_id, tier=width, start=start, stats=stats)
            for width, buckets in partials.items()
            for start, stats in buckets.items()
        ],
        update_conflicts=True,
        unique_fields=["stream", "tier", "start"],
        update_fields=["stats"],
    )
