"""What a viewer's allowance of stored samples refuses, before any read, and what it leaves alone.

A subscribe asking for more history than the viewer's allowance holds is
refused with `rate_limited` (saying the rate, answering the command's `ref`);
a smaller ask still fits. A refused subscribe to a stream the socket already
watches leaves that subscription live.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.models import Stream
from tests.support.samples import samples_make, store
from tests.support.sockets import Connect, error_for, frame_publish, next_data, seqs_of, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 100


@pytest.fixture
def small_allowance(settings: Any) -> None:
    """A burst of BURST rows, refilled at a row every 1,000 s: what is left is exact."""
    settings.PULSEBOARD_MAX_RESUME = BURST
    settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND = 0.001


async def test_a_backfill_beyond_what_is_left_is_refused_and_a_smaller_one_served(
    connect: Connect, owner: Any, public_stream: Stream, small_allowance: None
) -> None:
    await store(public_stream, range(1, BURST + 1))
    alice = await connect(owner)
    resumed = await subscribe(alice, public_stream.slug, since=40)
    assert seqs_of(resumed) == list(range(41, BURST + 1))  # 60 rows: 40 left
    await alice.command({"type": "unsubscribe", "stream": public_stream.slug}, "unsubscribed")
    refused = await error_for(
        alice, {"type": "subscribe", "stream": public_stream.slug, "backfill": 41, "ref": "b"}
    )
    assert (refused["code"], refused["ref"]) == ("rate_limited", "b")
    assert "At most 0.001 stored samples a second" in refused["message"]
    resume = {"type": "subscribe", "stream": public_stream.slug, "since": BURST - 41, "ref": "r"}
    refused = await error_for(alice, resume)
    assert (refused["code"], refused["ref"]) == ("rate_limited", "r")
    served = await subscribe(alice, public_stream.slug, backfill=40)
    assert seqs_of(served) == list(range(BURST - 39, BURST + 1))
    # The backfill drew the last 40: nothing is left, not even for one sample.
    await alice.command({"type": "unsubscribe", "stream": public_stream.slug}, "unsubscribed")
    empty = await error_for(
        alice, {"type": "subscribe", "stream": public_stream.slug, "backfill": 1}
    )
    assert empty["code"] == "rate_limited"


async def test_a_refused_subscribe_to_a_watched_stream_leaves_it_live(
    connect: Connect, owner: Any, public_stream: Stream, small_allowance: None
) -> None:
    await store(public_stream, range(1, BURST + 1))
    alice = await connect(owner)
    await subscribe(alice, public_stream.slug, since=BURST)  # nothing to catch up
    await subscribe(alice, public_stream.slug, since=0)  # the whole burst, re-subscribed
    refused = await error_for(
        alice, {"type": "subscribe", "stream": public_stream.slug, "backfill": 50}
    )
    assert refused["code"] == "rate_limited"
    await frame_publish(public_stream.slug, samples_make([BURST + 1]))
    assert seqs_of([await next_data(alice)]) == [BURST + 1]
