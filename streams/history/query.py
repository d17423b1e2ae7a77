"""History over any range in a bounded number of buckets, from the coarsest tier that fits.

A day of 1 kHz data is 86.4 million raw samples but only 1,440 minute rollups; an
answer of `points` buckets reads the coarsest tier that still has at least that
many buckets in the range, so its cost depends on `points`, not on the range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from streams.history.reader import samples_pages
from streams.history.rollups import (
    FLAGS,
    MINUTE,
    SECOND,
    TIER_NAMES,
    Stats,
    field_stats,
    merge_stats,
    stats_add,
)
from streams.history.samples import seq_bounds
from streams.models import Rollup

RAW = 1


@dataclass
class History:
    tier: str
    bucket_ms: int
    start: int
    t: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    fields: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    flags: dict[str, list[int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "bucket_ms": self.bucket_ms,
            "t": self.t,
            "count": self.count,
            "fields": self.fields,
            "flags": self.flags,
        }


def history_tier(span_ms: int, points: int, *, raw_rows: int = 0, max_rows: int = 0) -> int:
    """Return the tier to answer from: 1 m, 1 s or raw.

    The coarsest that still gives `points` buckets, unless it would read more
    than `max_rows` rows (0: the setting): then the finest coarser one that
    does not. A short window of a fast stream is answered from seconds, not
    from millions of raw rows.
    """
    max_rows = max_rows or settings.PULSEBOARD_HISTORY_MAX_ROWS
    rows = {RAW: raw_rows, SECOND: span_ms // SECOND, MINUTE: span_ms // MINUTE}
    tier = next((w for w in (MINUTE, SECOND) if span_ms // w >= points), RAW)
    for coarser in (SECOND, MINUTE):
        if rows[tier] > max_rows and coarser > tier:
            tier = coarser
    return tier


def bucket_width(span_ms: int, points: int, tier: int) -> int:
    """Return the answer's bucket width: wide enough for `points`, a whole number of tier buckets."""
    width = max(-(-span_ms // points), 1)
    return -(-width // tier) * tier


def history_buckets(stream_id: int, start: int, end: int, points: int) -> History:
    """Return min, max, mean, first and last per bucket of every numeric field over [start, end).

    Also the number of flagged samples per bucket, per flag.
    """
    tier = history_tier(end - start, points)
    if tier == RAW:
        bounds = seq_bounds(stream_id, start, end)
        raw_rows = bounds[1] - bounds[0] + 1 if bounds else 0
        tier = history_tier(end - start, points, raw_rows=raw_rows)
    start -= start % tier  # whole tier buckets only, so tiers agree with raw
    width = bucket_width(end - start, points, tier)
    buckets: dict[int, Stats] = {}
    if tier == RAW:
        buckets = _raw_buckets(stream_id, start, end, width)
    else:
        rows = Rollup.objects.filter(
            stream_id=stream_id, tier=tier, start__gte=start, start__lt=end
        ).order_by("start")  # earlier buckets first: merge_stats keeps first and last right
        for bucket_start, stats in rows.values_list("start", "stats").iterator(2000):
            offset = (bucket_start - start) // width * width
            merge_stats(buckets.setdefault(offset, {}), stats)
    return _answer(buckets, tier, width, start)


RAW_PAGE = 5000


def _raw_buckets(stream_id: int, start: int, end: int, width: int) -> dict[int, Stats]:
    """Return each bucket's statistics over the raw samples in [start, end), keyed by offset.

    The hot path of short ranges (up to a million samples): pages of the one
    reader, and the statistics updated in place, as `rollup_partials` computes them.
    """
    buckets: dict[int, Stats] = {}
    for page in samples_pages(stream_id, start=start, end=end, page=RAW_PAGE):
        for _, t, values, flags in page:
            offset = t - start
            offset -= offset % width
            stats = buckets.get(offset)
            if stats is None:
                stats = buckets[offset] = {}
            stats_add(stats, values, flags)
    return buckets


def _answer(buckets: dict[int, Stats], tier: int, width: int, start: int) -> History:
    answer = History(tier=TIER_NAMES.get(tier, "raw"), bucket_ms=width, start=start)
    names = sorted({name for stats in buckets.values() for name, _ in field_stats(stats)})
    flag_names = sorted({flag for stats in buckets.values() for flag in stats.get(FLAGS, ())})
    answer.fields = {
        name: {key: [] for key in ("min", "max", "mean", "first", "last")} for name in names
    }
    answer.flags = {flag: [] for flag in flag_names}
    for offset in sorted(buckets):
        stats = buckets[offset]
        answer.t.append(start + offset)
        answer.count.append(int(max((entry[3] for _, entry in field_stats(stats)), default=0)))
        for name in names:
            series = answer.fields[name]
            entry = stats.get(name)
            mean = entry[2] / entry[3] if entry else None
            series["min"].append(entry[0] if entry else None)
            series["max"].append(entry[1] if entry else None)
            series["mean"].append(mean)
            series["first"].append(entry[4] if entry and len(entry) > 5 else mean)
            series["last"].append(entry[5] if entry and len(entry) > 5 else mean)
        counts = stats.get(FLAGS, {})
        for flag in flag_names:
            answer.flags[flag].append(counts.get(flag, 0))
    return answer
