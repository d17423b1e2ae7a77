"""Leases: one producer owns a stream at a time, so two never stamp the same seq.

A lease lasts PULSEBOARD_LEASE_SECONDS and its holder renews it every
PULSEBOARD_LEASE_RENEW_SECONDS, so a producer that dies (or freezes) loses its
streams within about a lease and another takes them over. The holder stops
publishing the margin (PULSEBOARD_LEASE_MARGIN_SECONDS) before its lease runs out
by its own clock, and every write of its samples checks the lease in the same
transaction (`leases_fence`): a producer that wakes after its lease passed to
another writes nothing.
"""

from __future__ import annotations

import os
import socket
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from streams.history.store import WritePriority, write_turn
from streams.models import StreamLease


def lease_margin_ms() -> int:
    """Return how long before its lease runs out a producer stops publishing (clock drift)."""
    return int(1000 * settings.PULSEBOARD_LEASE_MARGIN_SECONDS)


def lease_holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def leases_claim(*, holder: str, stream_ids: list[int], now: int, ttl_ms: int) -> set[int]:
    """Take or renew the leases of `stream_ids` that are free or ours; return the ones we hold."""
    with write_turn(WritePriority.LEASE), transaction.atomic():
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


def leases_fence(*, holder: str, stream_ids: list[int]) -> set[int]:
    """Return the streams among `stream_ids` whose lease no other producer has taken.

    Call it inside the transaction that writes their samples: on PostgreSQL the
    lease rows stay locked until it ends, on SQLite the transaction holds the one
    write lock, so no other producer takes a lease over between check and write.
    A lease of ours that ran out unrenewed still counts: taking it over means
    writing another holder's name, and nobody else stamped these seqs before that.
    """
    return set(
        StreamLease.objects.select_for_update()
        .filter(stream_id__in=stream_ids, holder=holder)
        .values_list("stream_id", flat=True)
    )


def leases_release(*, holder: str, stream_ids: list[int] | None = None) -> None:
    """Give up our leases (all of them when `stream_ids` is None)."""
    leases = StreamLease.objects.filter(holder=holder)
    if stream_ids is not None:
        leases = leases.filter(stream_id__in=stream_ids)
    with write_turn(WritePriority.LEASE):
        leases.update(holder="", expires_ms=0)
