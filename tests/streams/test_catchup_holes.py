"""A live frame that comes after a hole: the client still sees every seq once, in order."""

from __future__ import annotations

import pytest

from streams.models import Stream
from tests.streams.live_client import Live
from tests.support.samples import samples_make, store
from tests.support.sockets import Connect, frame_publish, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

STREAM = "sensors.alice"


async def seqs_up_to(live: Live, last: int) -> list[int]:
    """Return the seqs of the data frames that arrive until one carries `last` (pongs passed)."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < last:
        frame = (await live.receive_until("data"))[-1]
        seqs += [sample["seq"] for sample in frame["samples"]]
    return seqs


@pytest.mark.parametrize("missing", [1, 2, 5])
async def test_a_hole_of_a_few_samples_between_live_frames_is_filled_from_history(
    connect: Connect, owner: object, private_stream: Stream, missing: int
) -> None:
    await store(private_stream, range(1, 11))
    alice = await connect(owner)
    await subscribe(alice, STREAM, backfill=2)
    after = 12 + missing
    await store(private_stream, range(11, after + 2))
    await frame_publish(STREAM, samples_make([11]))
    # The frames of 12.. were lost on the way (a full queue); the next one arrives.
    await frame_publish(STREAM, samples_make([after, after + 1]))
    assert await seqs_up_to(alice, after + 1) == list(range(11, after + 2))


async def test_a_hole_of_one_sample_right_after_subscribing_is_filled(
    connect: Connect, owner: object, private_stream: Stream
) -> None:
    await store(private_stream, range(1, 6))
    alice = await connect(owner)
    frames = await subscribe(alice, STREAM, backfill=5)
    assert frames[0]["seq"] == 5
    await store(private_stream, [6, 7])
    await frame_publish(STREAM, samples_make([7]))
    assert await seqs_up_to(alice, 7) == [6, 7]


async def test_a_frame_that_follows_on_is_sent_as_it_is(
    connect: Connect, owner: object, private_stream: Stream
) -> None:
    # Nothing is stored after 3: a frame that follows on must not wait for history.
    await store(private_stream, range(1, 4))
    alice = await connect(owner)
    await subscribe(alice, STREAM, backfill=3)
    await frame_publish(STREAM, samples_make([4, 5]))
    await frame_publish(STREAM, samples_make([6]))
    assert await seqs_up_to(alice, 6) == [4, 5, 6]
