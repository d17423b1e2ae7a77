"""A hole filled from history is counted: every sample for the operator, and against the viewer.

A refill is never refused (the client would see a hole), but its rows were read:
`pulseboard_samples_refilled_total` rises by the samples sent, and they come
out of the viewer's allowance, so a resume right after may no longer fit.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.metrics import metric_value
from streams.models import Stream
from tests.support.samples import samples_make, store
from tests.support.sockets import Connect, error_for, frame_publish, seqs_of, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

REFILLED = "pulseboard_samples_refilled_total"
BURST = 100


async def test_a_filled_hole_counts_its_samples_and_draws_on_the_allowance(
    connect: Connect, owner: Any, public_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_RESUME = BURST
    settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND = 0.001  # no refill within the test
    await store(public_stream, range(1, 11))
    alice = await connect(owner)
    await subscribe(alice, public_stream.slug, since=10)  # nothing to catch up
    await store(public_stream, range(11, 61))
    before = metric_value(REFILLED)
    # The frames of 11..59 were lost on the way; 60 arrives and the hole is filled.
    await frame_publish(public_stream.slug, samples_make([60]))
    seqs: list[int] = []
    while not seqs or seqs[-1] < 60:
        seqs += seqs_of(await alice.receive_until("data"))
    assert seqs == list(range(11, 61))
    assert metric_value(REFILLED) - before == 49
    # 49 rows read: 51 left of the burst.
    await alice.command({"type": "unsubscribe", "stream": public_stream.slug}, "unsubscribed")
    refused = await error_for(
        alice, {"type": "subscribe", "stream": public_stream.slug, "since": 5}
    )
    assert refused["code"] == "rate_limited"
    served = await subscribe(alice, public_stream.slug, since=15)
    assert seqs_of(served) == list(range(16, 61))
