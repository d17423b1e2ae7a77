"""Leases: one producer owns a stream at a time, so two never stamp the same seq."""

from __future__ import annotations

import os
import socket
import uuid

from django.db.models import Q

from streams.models import StreamLease

# Stop publishing a little before a lease runs out, for clocks that differ a little.
LEASE_MARGIN_MS = 1_000


def lease_holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def leases_claim(*, holder: str, stream_ids: list[int], now: int, ttl_ms: int) -> set[int]:
    """Take or renew the leases of `stream_ids` that are free or ours; return the ones we hold."""
    StreamLease.objects.bulk_create(
        [StreamLease(stream_id=stream_id) for stream_id in stream_ids], ignore_conflicts=True
    )
    StreamLease.objects.filter(stream_id__in=stream_ids).filter(
        Q(holder=holder) | Q(expires_ms__lt=now)
    ).update(holder=holder, expires_ms=now + ttl_ms)
    return set(
        StreamLease.objects.filter(stream_id__in=stream_ids, holder=holder).values_list(
            "stream_id", flat=True
        )
    )


def leases_release(*, holder: str, stream_ids: list[int] | None = None) -> None:
    """Give up our leases (all of them when `stream_ids` is None)."""
    leases = StreamLease.objects.filter(holder=holder)
    if stream_ids is not None:
        leases = leases.filter(stream_id__in=stream_ids)
    leases.update(holder="", expires_ms=0)
