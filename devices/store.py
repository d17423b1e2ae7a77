"""A batch of MQTT messages stored as samples, once each, with the broker's counters.

Runs in the bridge's database thread. Each message is parsed and checked on its
own (a bad one is refused and counted, the others go on); the samples of every
stream are written in one transaction together with the marks of the last few
batches (packet id → digest), so a message the broker sends again after a crash,
before our acknowledgement reached it, is recognised and dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from django.db import transaction
from django.db.models import F

from devices.models import Broker, DeliveryMarks
from devices.payloads import PayloadError, payload_samples
from devices.routes import RouteTable, Target
from streams.clock import now_ms
from streams.messages import SampleFrame, sample_frame
from streams.models import Stream
from streams.producer.ingest import IngestError, Row, ingest_validate, rows_stamped, stream_last
from streams.producer.pipeline import samples_write

MAX_ERROR = 500
# Packet id → digest of the messages of a broker's last batches.
Marks = dict[str, str]


class Message(NamedTuple):
    """One MQTT message as the bridge took it.

    A tuple of plain values: a batch's thousand of them cost the garbage collector nothing.
    """

    topic: str
    payload: bytes
    packet_id: int
    dup: bool = False
    qos: int = 1

    @property
    def digest(self) -> str:
        return hashlib.blake2b(
            self.topic.encode() + b"\0" + self.payload, digest_size=8
        ).hexdigest()


@dataclass
class Outcome:
    """What a batch did: samples stored by stream, refusals and the last one's reason."""

    stored: dict[int, list[SampleFrame]] = field(default_factory=dict)
    taken: int = 0
    refused: int = 0
    duplicates: int = 0
    last_error: str = ""
    marks: Marks = field(default_factory=dict)

    def refuse(self, message: Message, reason: str) -> None:
        self.refused += 1
        self.last_error = f"{message.topic}: {reason}"[:MAX_ERROR]


@dataclass
class Accepted:
    """A message's rows, checked against its stream's fields, waiting for seqs."""

    message: Message
    target: Target
    rows: list[Row]


def message_rows(message: Message, target: Target, *, payload_format: str, now: int) -> list[Row]:
    """Return a message's samples as checked rows; raise PayloadError or IngestError."""
    reason = target.writable
    if reason:
        raise PayloadError(reason)
    samples = payload_samples(
        message.payload,
        payload_format=payload_format,
        field=target.field,
        value_key=target.value_key,
    )
    return ingest_validate(stream=target.stream, samples=samples, now=now, types=target.types)


def messages_check(
    messages: list[Message], *, table: RouteTable, payload_format: str, outcome: Outcome
) -> list[Accepted]:
    """Return the messages that are samples of a routed stream; refuse the others."""
    now = now_ms()
    accepted = []
    for message in messages:
        target = table.match(message.topic)
        if target is None:
            outcome.refuse(message, "no route takes this topic.")
            continue
        try:
            rows = message_rows(message, target, payload_format=payload_format, now=now)
        except PayloadError as error:
            outcome.refuse(message, str(error))
            continue
        except IngestError as error:
            outcome.refuse(message, error.message)
            continue
        accepted.append(Accepted(message, target, rows))
    return accepted


def marks_read(broker_id: int) -> Marks:
    """Return the marks stored with the broker's last batches (packet id → digest)."""
    text = DeliveryMarks.objects.filter(broker_id=broker_id).values_list("marks", flat=True).first()
    return dict(orjson.loads(text)) if text else {}


def marks_write(broker_id: int, marks: Marks) -> None:
    text = orjson.dumps(marks).decode()
    if not DeliveryMarks.objects.filter(broker_id=broker_id).update(marks=text):
        DeliveryMarks.objects.create(broker_id=broker_id, marks=text)


def duplicates_of(broker_id: int, messages: list[Message]) -> set[Message]:
    """Return the messages sent again (DUP) whose mark says they were stored already."""
    again = [message for message in messages if message.dup]
    if not again:
        return set()
    marks = marks_read(broker_id)
    return {message for message in again if marks.get(str(message.packet_id)) == message.digest}


def stream_frames(stream_id: int, accepted: list[Accepted], outcome: Outcome) -> list[SampleFrame]:
    """Give a stream's accepted messages the next seqs; refuse one that goes back in time."""
    Stream.objects.select_for_update().filter(pk=stream_id).first()
    last_seq, latest = stream_last(stream_id)
    floor = latest or 0
    rows: list[Row] = []
    for item in accepted:
        given = [t for t, _, _ in item.rows if t is not None]
        if given:
            if given[0] < floor:
                outcome.refuse(
                    item.message,
                    f"its time {given[0]} is before the stream's latest sample ({floor}).",
                )
                continue
            floor = max(floor, *given)
        rows.extend(item.rows)
    stamped = rows_stamped(rows, now=now_ms(), latest=latest)
    first = last_seq + 1
    return [
        sample_frame(first + i, t, values, flags) for i, (t, values, flags) in enumerate(stamped)
    ]


def counters_add(broker_id: int, outcome: Outcome) -> None:
    changes: dict[str, Any] = {
        "messages": F("messages") + outcome.taken,
        "last_message_ms": now_ms(),
    }
    if outcome.refused:
        changes["bad_payloads"] = F("bad_payloads") + outcome.refused
        changes["last_error"] = outcome.last_error
        changes["last_error_ms"] = now_ms()
    Broker.objects.filter(pk=broker_id).update(**changes)


def messages_store(
    *,
    broker_id: int,
    messages: list[Message],
    table: RouteTable,
    payload_format: str,
    kept: Marks | None = None,
) -> Outcome:
    """Store a batch of messages (all or nothing); return what it did.

    The marks stored with it are `kept` (the bridge's previous batches, whose
    acknowledgements may not have reached the broker yet) and this batch's.
    """
    outcome = Outcome()
    with transaction.atomic():
        duplicates = duplicates_of(broker_id, messages)
        fresh = [message for message in messages if message not in duplicates]
        outcome.duplicates = len(duplicates)
        outcome.taken = len(fresh)
        accepted = messages_check(
            fresh, table=table, payload_format=payload_format, outcome=outcome
        )
        by_stream: dict[int, list[Accepted]] = {}
        for item in accepted:
            by_stream.setdefault(item.target.stream.pk, []).append(item)
        for stream_id, items in by_stream.items():
            frames = stream_frames(stream_id, items, outcome)
            if frames:
                outcome.stored[stream_id] = frames
        samples_write(outcome.stored)
        outcome.marks = {str(m.packet_id): m.digest for m in messages if m.qos > 0}
        marks_write(broker_id, {**(kept or {}), **outcome.marks})
        counters_add(broker_id, outcome)
    return outcome
