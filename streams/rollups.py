"""Per-second and per-minute rollups (min, max, sum, count) kept beside raw samples.

Writers merge the partial statistics of each new batch into the bucket rows, so a
bucket filled by several batches, or by a producer that took over mid-bucket, is
still exact.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.models import Rollup
from streams.protocol import SampleFrame

SECOND = 1_000
MINUTE = 60_000
TIERS = (SECOND, MINUTE)
TIER_NAMES = {SECOND: "1s", MINUTE: "1m"}

Stats = dict[str, list[float]]  # field → [min, max, sum, count]


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def rollup_partials(samples: Iterable[SampleFrame], width: int) -> dict[int, Stats]:
    """Return each bucket's statistics over `samples`, keyed by bucket start."""
    buckets: dict[int, Stats] = {}
    for sample in samples:
        t = sample["t"]
        stats = buckets.setdefault(t - t % width, {})
        for name, value in sample["values"].items():
            if not is_number(value):
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
    return buckets


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
    """Merge a batch into the stream's rollup rows; call inside the batch's transaction."""
    if not samples:
        return
    for width in TIERS:
        partials = rollup_partials(samples, width)
        if not partials:
            continue
        existing = {
            row.start: row
            for row in Rollup.objects.filter(
                stream_id=stream_id, tier=width, start__in=list(partials)
            )
        }
        created, updated = [], []
        for start, stats in partials.items():
            row = existing.get(start)
            if row is None:
                created.append(Rollup(stream_id=stream_id, tier=width, start=start, stats=stats))
            else:
                row.stats = merge_stats(row.stats, stats)
                updated.append(row)
        Rollup.objects.bulk_create(created)
        if updated:
            Rollup.objects.bulk_update(updated, ["stats"])


def rollups_trim(stream_id: int, *, now: int, raw_retention_ms: int) -> int:
    """Delete rollups past their tier's retention (never shorter than the raw samples')."""
    from django.conf import settings

    deleted = 0
    for width, keep_ms in (
        (SECOND, settings.PULSEBOARD_SECOND_ROLLUP_RETENTION_SECONDS * 1000),
        (MINUTE, settings.PULSEBOARD_MINUTE_ROLLUP_RETENTION_SECONDS * 1000),
    ):
        cutoff = now - max(keep_ms, raw_retention_ms)
        count, _ = Rollup.objects.filter(stream_id=stream_id, tier=width, start__lt=cutoff).delete()
        deleted += count
    return deleted
