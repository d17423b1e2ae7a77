"""Live frames after history: trimmed to what the client lacks, and counted for the operator.

A frame whose first sample the client already has (history sent it) goes out
without that sample; one it has whole is skipped. Every live frame a socket
sends counts once in `pulseboard_frames_sent_total`; skipped ones count in
`pulseboard_frames_skipped_total`.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.metrics import metric_value
from streams.models import Stream
from tests.support.samples import samples_make, store
from tests.support.sockets import Connect, frame_publish, next_data, seqs_of, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

SENT = "pulseboard_frames_sent_total"
SKIPPED = "pulseboard_frames_skipped_total"


async def test_a_frame_overlapping_history_by_one_sample_goes_out_without_it(
    connect: Connect, owner: Any, public_stream: Stream
) -> None:
    await store(public_stream, range(1, 4))
    alice = await connect(owner)
    assert seqs_of(await subscribe(alice, public_stream.slug, backfill=3)) == [1, 2, 3]
    await frame_publish(public_stream.slug, samples_make([3, 4, 5]))
    assert seqs_of([await next_data(alice)]) == [4, 5]
    await frame_publish(public_stream.slug, samples_make([6]))
    assert seqs_of([await next_data(alice)]) == [6]


async def test_each_live_frame_sent_counts_once_and_a_skipped_one_not(
    connect: Connect, owner: Any, public_stream: Stream
) -> None:
    await store(public_stream, range(1, 4))
    alice = await connect(owner)
    await subscribe(alice, public_stream.slug, backfill=3)
    sent, skipped = metric_value(SENT), metric_value(SKIPPED)
    await frame_publish(public_stream.slug, samples_make([2, 3]))  # had whole: skipped
    await frame_publish(public_stream.slug, samples_make([3, 4]))  # trimmed
    await frame_publish(public_stream.slug, samples_make([5]))
    await frame_publish(public_stream.slug, samples_make([6, 7]))
    seqs: list[int] = []
    while not seqs or seqs[-1] < 7:
        seqs += seqs_of([await next_data(alice)])
    assert seqs == [4, 5, 6, 7]
    assert metric_value(SENT) - sent == 3
    assert metric_value(SKIPPED) - skipped == 1
