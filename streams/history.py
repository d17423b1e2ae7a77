"""Stored samples: writing batches, reading ranges for resume and backfill, retention."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max, Min

from streams.models import Sample
from streams.protocol import SampleFrame
from streams.rollups import rollups_apply


def sample_frame(seq: int, t: int, values: dict, flags: Iterable[str] = ()) -> SampleFrame:
    """Return a sample as it travels in `data` frames (flags only when there are some)."""
    frame: SampleFrame = {"seq": seq, "t": t, "values": values}
    flags = list(flags)
    if flags:
        frame["flags"] = flags
    return frame


def history_append(batches: dict[int, list[SampleFrame]]) -> int:
    """Store the batches of several streams and their rollups in one transaction.

    Samples at or below a stream's stored seq are skipped, so retrying a write
    that did commit stores (and counts in rollups) nothing twice. Returns how
    many samples were new.
    """
    stored = 0
    with transaction.atomic():
        for stream_id, samples in batches.items():
            last = history_last_seq(stream_id)
            fresh = [s for s in samples if s["seq"] > last]
            if not fresh:
                continue
            Sample.objects.bulk_create(
                [
                    Sample(
                        stream_id=stream_id,
                        seq=s["seq"],
                        t=s["t"],
                        values=s["values"],
                        flags=s.get("flags", []),
                    )
                    for s in fresh
                ],
                batch_size=500,
            )
            rollups_apply(stream_id, fresh)
            stored += len(fresh)
    return stored


def history_first_seq(stream_id: int) -> int:
    """Return the lowest stored seq of a stream (retention deletes from the start), 0 if none."""
    return Sample.objects.filter(stream_id=stream_id).aggregate(first=Min("seq"))["first"] or 0


def history_last_seq(stream_id: int) -> int:
    """Return the highest stored seq of a stream, 0 when it has none."""
    return Sample.objects.filter(stream_id=stream_id).aggregate(last=Max("seq"))["last"] or 0


def _frames(rows: Iterable[tuple[int, int, dict, list]]) -> list[SampleFrame]:
    return [sample_frame(seq, t, values, flags) for seq, t, values, flags in rows]


def history_after(
    stream_id: int, since: int, *, until: int | None = None, limit: int
) -> list[SampleFrame]:
    """Return up to `limit` stored samples with since < seq (≤ until), oldest first."""
    rows = Sample.objects.filter(stream_id=stream_id, seq__gt=since)
    if until is not None:
        rows = rows.filter(seq__lte=until)
    return _frames(rows.order_by("seq").values_list("seq", "t", "values", "flags")[:limit])


def history_latest(stream_id: int, count: int) -> list[SampleFrame]:
    """Return the last `count` stored samples of a stream, oldest first."""
    if count <= 0:
        return []
    rows = Sample.objects.filter(stream_id=stream_id).order_by("-seq")
    newest_first = list(rows.values_list("seq", "t", "values", "flags")[:count])
    return _frames(reversed(newest_first))


def history_trim(stream_id: int, older_than_ms: int) -> int:
    """Delete a stream's samples older than the cutoff; return how many went."""
    deleted, _ = Sample.objects.filter(stream_id=stream_id, t__lt=older_than_ms).delete()
    return deleted
