"""Retention: what each stream keeps, raw and in its rollup tiers, and nothing older."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection, transaction

from streams.history.rollups import MINUTE, SECOND
from streams.history.store import WritePriority, write_turn
from streams.models import Rollup, Sample, SampleBlock, Stream

log = logging.getLogger(__name__)


# Samples deleted per transaction: each slice holds SQLite's one write lock briefly,
# so the producer's writes and lease renewals get their turns between slices.
TRIM_SLICE = 20_000


def history_trim(stream_id: int, older_than_ms: int) -> int:
    """Delete a stream's samples older than the cutoff, a slice at a time; return how many went."""
    expired = Sample.objects.filter(stream_id=stream_id, t__lt=older_than_ms)
    deleted = 0
    while True:
        # Where the slice ends is read first, outside the write (readers take no lock).
        bound = list(expired.order_by("t").values_list("t", flat=True)[TRIM_SLICE - 1 :][:1])
        with write_turn(WritePriority.BULK), transaction.atomic():
            count, _ = (expired.filter(t__lte=bound[0]) if bound else expired).delete()
        deleted += count
        if not bound:
            return deleted


def blocks_trim(stream_id: int, older_than_ms: int) -> int:
    """Drop a stream's blocks whose newest sample is older than the cutoff; return their samples.

    Whole blocks only, in one statement: a block the cutoff falls inside stays
    until all of it has expired, so raw history may reach back one block further.
    """
    expired = SampleBlock.objects.filter(stream_id=stream_id, last_t__lt=older_than_ms)
    samples = sum(expired.values_list("count", flat=True))
    if samples:  # one DELETE, never the ORM's collector, which would read every block's data
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM streams_sampleblock WHERE stream_id = %s AND last_t < %s",
                [stream_id, older_than_ms],
            )
    return samples


def rollups_trim(stream_id: int, *, now: int, raw_retention_ms: int) -> int:
    """Delete rollups past their tier's retention (never shorter than the raw samples')."""
    deleted = 0
    for width, keep_ms in (
        (SECOND, settings.PULSEBOARD_SECOND_ROLLUP_RETENTION_SECONDS * 1000),
        (MINUTE, settings.PULSEBOARD_MINUTE_ROLLUP_RETENTION_SECONDS * 1000),
    ):
        cutoff = now - max(keep_ms, raw_retention_ms)
        count, _ = Rollup.objects.filter(stream_id=stream_id, tier=width, start__lt=cutoff).delete()
        deleted += count
    return deleted


def retention_apply(now: int) -> None:
    """Trim every stream, running or not, pushed or generated (deletes are idempotent)."""
    for stream_id, slug, retention in Stream.objects.values_list("id", "slug", "retention_seconds"):
        deleted = blocks_trim(stream_id, now - retention * 1000)
        deleted += history_trim(stream_id, now - retention * 1000)
        rollups_trim(stream_id, now=now, raw_retention_ms=retention * 1000)
        if deleted:
            log.info("retention removed %d samples of %s", deleted, slug)
