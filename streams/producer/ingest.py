"""Samples that scripts and devices push: validated whole, stored, then fanned out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Max

from streams.access import stream_can_control
from streams.clock import now_ms
from streams.history.store import WritePriority, WritesBusy, write_turn
from streams.messages import SampleFrame, sample_frame
from streams.metrics import metric_inc
from streams.models import Sample, SourceKind, Stream
from streams.producer.pipeline import database_thread, pipeline_run, samples_write
from streams.producer.values import (
    BUSY_RETRY_SECONDS,
    MAX_MAGNITUDE,
    MAX_TEXT_VALUE,
    IngestError,
    field_types,
    values_check,
)

MAX_FLAGS = 8
# Pushed timestamps may run a little ahead of this server's clock, not more.
MAX_CLOCK_SKEW_MS = 5 * 60 * 1000
REFUSED = "pulseboard_samples_refused_total"

__all__ = [
    "IngestError",
    "ingest_samples",
    "ingest_store",
    "ingest_validate",
    "rows_stamped",
    "stream_last",
]


# (t, values, flags); t is None for a sample the server stamps when it stores the batch.
Row = tuple[int | None, dict, list[str]]


def ingest_validate(
    *, stream: Stream, samples: Any, now: int, types: Mapping[str, str] | None = None
) -> list[Row]:
    """Return the batch as (t, values, flags) rows, or raise IngestError naming a bad field.

    `types` is `field_types(stream.fields)` when the caller keeps it from batch to batch.
    """
    if not isinstance(samples, list) or not samples:
        raise IngestError("invalid_field", "`samples` must be a non-empty list.")
    limit = settings.PULSEBOARD_MAX_INGEST_BATCH
    if len(samples) > limit:
        raise IngestError(
            "too_large", f"At most {limit} samples per batch; got {len(samples)}.", 413
        )
    if types is None:
        types = field_types(stream.fields)
    rows = _rows_plain(samples, types=types, now=now)
    if rows is None:  # some sample is not plainly storable: say which, and why
        rows = _rows_checked(samples, stream=stream, types=types, now=now)
    return rows


SAMPLE_KEYS = frozenset(("t", "values", "flags"))
NUMBER_TYPES = (int, float)


def _rows_plain(samples: list[Any], *, types: Mapping[str, str], now: int) -> list[Row] | None:
    """Return the rows when every sample is plainly storable, else None.

    The same rules as `_rows_checked` in one tight loop (a batch of 5,000 costs a
    third of the time): it accepts nothing `_rows_checked` refuses, and leaves
    finding and wording a refusal to it.
    """
    rows: list[Row] = []
    append = rows.append
    previous = 0
    horizon = now + MAX_CLOCK_SKEW_MS
    declared = bool(types)  # a stream that declares no fields takes any name
    for sample in samples:
        if type(sample) is not dict or not SAMPLE_KEYS.issuperset(sample):
            return None
        given = sample.get("t")
        t = now if given is None else given
        if type(t) is not int or not previous <= t <= horizon:
            return None
        previous = t
        values = sample.get("values")
        if type(values) is not dict or not values:
            return None
        for name, value in values.items():
            kind = types.get(name)
            if type(value) in NUMBER_TYPES:  # not bool, whose type is bool
                if declared and kind != "number":
                    return None
                if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:  # NaN fails too
                    return None
            elif type(value) is str:
                if declared and kind != "text":
                    return None
                if len(value) > MAX_TEXT_VALUE:
                    return None
            else:
                return None
        flags = sample.get("flags")
        if flags is None:
            if "flags" in sample:
                return None
            flags = []
        elif (
            type(flags) is not list
            or len(flags) > MAX_FLAGS
            or not all(type(flag) is str and 0 < len(flag) <= 40 for flag in flags)
        ):
            return None
        append((given, values, flags))
    return rows


def _rows_checked(
    samples: list[Any], *, stream: Stream, types: Mapping[str, str], now: int
) -> list[Row]:
    """Return the rows, or raise IngestError naming the first sample and field not storable."""
    rows = []
    previous_t = None
    for index, sample in enumerate(samples):
        where = f"samples[{index}]"
        if not isinstance(sample, dict):
            raise IngestError("invalid_field", f"{where} must be an object with `values`.")
        extra = set(sample) - SAMPLE_KEYS
        if extra:
            raise IngestError(
                "invalid_field", f"{where} has unknown keys: {', '.join(sorted(extra))}."
            )
        given = sample.get("t")
        # A sample without `t` is checked against the others as if stamped now.
        t = now if given is None else given
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise IngestError(
                "invalid_field", f"{where}.t must be UTC milliseconds (a whole number)."
            )
        if t > now + MAX_CLOCK_SKEW_MS:
            raise IngestError(
                "invalid_field",
                f"{where}.t is more than {MAX_CLOCK_SKEW_MS // 60_000} minutes in the future.",
            )
        if previous_t is not None and t < previous_t:
            raise IngestError("invalid_field", f"{where}.t is earlier than the sample before it.")
        previous_t = t
        values = values_check(
            sample.get("values"), types=types, slug=stream.slug, where=f"{where}.values"
        )
        flags = sample.get("flags", [])
        if (
            not isinstance(flags, list)
            or len(flags) > MAX_FLAGS
            or not all(isinstance(flag, str) and 0 < len(flag) <= 40 for flag in flags)
        ):
            raise IngestError(
                "invalid_field", f"{where}.flags must be a short list of short strings."
            )
        rows.append((None if given is None else t, values, flags))
    return rows


def rows_stamped(
    rows: list[Row], *, now: int, latest: int | None
) -> list[tuple[int, dict, list[str]]]:
    """Return the rows with every missing `t` filled in, or raise IngestError (409).

    A server-stamped sample takes `now` (the moment its batch holds the stream),
    never earlier than the stream's latest sample or the sample before it, and never
    later than a sample after it that brought its own `t`.
    """
    if all(t is not None and (latest is None or t >= latest) for t, _, _ in rows):
        # Every sample brought its time, none before the latest: the rows as they are.
        return cast(list[tuple[int, dict, list[str]]], list(rows))
    later_given: list[float] = []
    bound = math.inf
    for t, _, _ in reversed(rows):
        if t is not None:
            bound = t
        later_given.append(bound)
    later_given.reverse()
    floor = latest if latest is not None else 0
    stamped = []
    for index, ((t, values, flags), cap) in enumerate(zip(rows, later_given, strict=True)):
        if t is None:
            t = max(floor, int(min(now, cap)))
        elif latest is not None and t < latest:
            raise IngestError(
                "invalid_field",
                f"samples[{index}].t is earlier than the stream's latest sample ({latest}).",
                409,
            )
        floor = t
        stamped.append((t, values, flags))
    return stamped


def stream_last(stream_id: int) -> tuple[int, int | None]:
    """Return a stream's last stored seq (0 when none) and its latest sample time (None when none).

    Two queries, each answered from one end of its index: SQLite answers
    `MAX(seq), MAX(t)` asked together by reading every sample of the stream.
    """
    samples = Sample.objects.filter(stream_id=stream_id)
    return samples.aggregate(seq=Max("seq"))["seq"] or 0, samples.aggregate(t=Max("t"))["t"]


def ingest_store(*, stream_id: int, rows: list[Row]) -> list[SampleFrame]:
    """Give the rows the next seqs (and missing times) and store them, all or nothing.

    On SQLite the push waits its turn behind the producer's writes (and lease
    renewals), at most PULSEBOARD_INGEST_WAIT_SECONDS; then WritesBusy.
    """
    wait = settings.PULSEBOARD_INGEST_WAIT_SECONDS
    with write_turn(WritePriority.BULK, timeout=wait), transaction.atomic():
        # The stream row lock (on SQLite, the write lock an IMMEDIATE transaction
        # takes at its start) makes concurrent pushes take turns for seq; samples
        # without `t` are stamped only now, so a batch that waited is not refused.
        Stream.objects.select_for_update().filter(pk=stream_id).first()
        last_seq, latest = stream_last(stream_id)
        stamped = rows_stamped(rows, now=now_ms(), latest=latest)
        batch = [
            sample_frame(last_seq + i, t, values, flags)
            for i, (t, values, flags) in enumerate(stamped, 1)
        ]
        samples_write({stream_id: batch})
    return batch


async def ingest_samples(*, stream: Stream, user: Any, samples: Any) -> list[SampleFrame]:
    """Validate, store and publish a pushed batch; return the stored samples.

    Every refusal is counted by its code (the field it names is in its message only,
    so the metric's series stay few). A database too busy to take the batch in
    time (or away) is IngestError `busy`, 503: nothing was stored, send it again
    after `retry_after` seconds.
    """
    try:
        try:
            return await _ingest(stream=stream, user=user, samples=samples)
        except (WritesBusy, OperationalError) as error:
            raise IngestError(
                "busy",
                f"The database is busy; nothing was stored. Try again in {BUSY_RETRY_SECONDS} s.",
                503,
            ) from error
    except IngestError as error:
        metric_inc(REFUSED, code=error.code)
        raise


async def _ingest(*, stream: Stream, user: Any, samples: Any) -> list[SampleFrame]:
    if stream.source_kind != SourceKind.PUSH:
        raise IngestError("not_push_stream", f"{stream.slug!r} is not a push stream.", 409)
    if not stream_can_control(stream, user):
        raise IngestError("forbidden", f"Only the owner or staff may push to {stream.slug!r}.", 403)
    if not stream.running:
        raise IngestError(
            "stream_stopped", f"{stream.slug!r} is stopped; its owner may start it again.", 409
        )
    rows = ingest_validate(stream=stream, samples=samples, now=now_ms())
    stored = await pipeline_run(
        store=lambda: {stream.pk: ingest_store(stream_id=stream.pk, rows=rows)},
        slugs={stream.pk: stream.slug},
        in_thread=database_thread,
    )
    return stored[stream.pk]
