"""History over any range in a bounded number of buckets, from the coarsest tier that fits.

A day of 1 kHz data is 86.4 million raw samples but only 1,440 minute rollups; an
answer of `points` buckets reads the coarsest tier that still has at least that
many buckets in the range, so its cost depends on `points`, not on the range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.models import Rollup, Sample
from streams.rollups import MINUTE, SECOND, TIER_NAMES, Stats, merge_stats, rollup_partials

RAW = 1


@dataclass
class History:
    tier: str
    bucket_ms: int
    start: int
    t: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    fields: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "bucket_ms": self.bucket_ms,
            "t": self.t,
            "count": self.count,
            "fields": self.fields,
        }


def history_tier(span_ms: int, points: int) -> int:
    """Return the coarsest bucket width (1 m, 1 s, raw) that still gives `points` buckets."""
    for width in (MINUTE, SECOND):
        if span_ms // width >= points:
            return width
    return RAW


def bucket_width(span_ms: int, points: int, tier: int) -> int:
    """Return the answer's bucket width: wide enough for `points`, a whole number of tier buckets."""
    width = max(-(-span_ms // points), 1)
    return -(-width // tier) * tier


def history_buckets(stream_id: int, start: int, end: int, points: int) -> History:
    """Return min, max and mean per bucket of every numeric field over [start, end)."""
    tier = history_tier(end - start, points)
    start -= start % tier  # whole tier buckets only, so tiers agree with raw
    width = bucket_width(end - start, points, tier)
    buckets: dict[int, Stats] = {}
    if tier == RAW:
        rows = Sample.objects.filter(stream_id=stream_id, t__gte=start, t__lt=end)
        samples = (
            {"t": t, "values": values}
            for t, values in rows.values_list("t", "values").iterator(2000)
        )
        for offset, stats in rollup_partials(_shifted(samples, start), width).items():
            buckets[offset] = stats
    else:
        rows = Rollup.objects.filter(
            stream_id=stream_id, tier=tier, start__gte=start, start__lt=end
        )
        for bucket_start, stats in rows.values_list("start", "stats").iterator(2000):
            offset = (bucket_start - start) // width * width
            merge_stats(buckets.setdefault(offset, {}), stats)
    return _answer(buckets, tier, width, start)


def _shifted(samples: Any, start: int) -> Any:
    """Yield samples with t relative to `start`, so buckets line up with it."""
    for sample in samples:
        yield {"t": sample["t"] - start, "values": sample["values"]}


def _answer(buckets: dict[int, Stats], tier: int, width: int, start: int) -> History:
    answer = History(tier=TIER_NAMES.get(tier, "raw"), bucket_ms=width, start=start)
    names = sorted({name for stats in buckets.values() for name in stats})
    answer.fields = {name: {"min": [], "max": [], "mean": []} for name in names}
    for offset in sorted(buckets):
        stats = buckets[offset]
        answer.t.append(start + offset)
        answer.count.append(int(max((s[3] for s in stats.values()), default=0)))
        for name in names:
            series = answer.fields[name]
            entry = stats.get(name)
            series["min"].append(entry[0] if entry else None)
            series["max"].append(entry[1] if entry else None)
            series["mean"].append(entry[2] / entry[3] if entry else None)
    return answer
