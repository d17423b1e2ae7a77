"""A resume further back than one shared read holds: paged from the database, whole, charged.

A batch of subscribes shares one read of a stream's newest samples, at most
SHARED_ROWS of them (streams/live/shared_reads.py). A client further behind
(up to PULSEBOARD_MAX_RESUME) has the rest read for it alone, page by page: it
must still get every sample after `since` once, in order, then the live ones,
and its user's allowance is charged the rows read, not the seqs the gap spans.
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.live.shared_reads import HISTORY_PAGE, SHARED_ROWS
from streams.models import Stream
from tests.streams.live_client import Live
from tests.support.samples import samples_make, store
from tests.support.sockets import Connect, frame_publish, next_data, seqs_of

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = SHARED_ROWS + HISTORY_PAGE + 500  # beyond the shared read, over more than one page


@pytest.fixture
def deep_resumes(settings: Any) -> None:
    """Resumes may reach further back than the shared read; the allowance does not refill
    within a test's time (a row every 1,000 s), so what is left is exact."""
    settings.PULSEBOARD_MAX_RESUME = 2 * DEEP
    settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND = 0.001


async def deep_subscribe(live: Live, slug: str, since: int) -> list[dict[str, Any]]:
    """Resume from `since`; return what came up to the presence news that ends it.

    Thousands of rows are read and sent page by page: on a busy machine a page may
    take longer than a command's usual wait.
    """
    await live.send({"type": "subscribe", "stream": slug, "since": since})
    return await live.receive_until("presence", timeout=30)


def data_frames(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "data"]


async def test_a_resume_beyond_the_shared_read_arrives_whole_in_bounded_frames_then_live(
    connect: Connect, owner: Any, public_stream: Stream, deep_resumes: None
) -> None:
    await store(public_stream, range(1, DEEP + 1))
    alice = await connect(owner)
    frames = await deep_subscribe(alice, public_stream.slug, since=0)
    assert frames[0]["type"] == "subscribed" and frames[0]["recovered"] is True
    assert seqs_of(frames) == list(range(1, DEEP + 1))
    # A client never has to take one frame of every stored sample at once.
    assert all(len(f["samples"]) <= HISTORY_PAGE for f in data_frames(frames))
    # Live frames follow right after, with nothing sent twice.
    await frame_publish(public_stream.slug, samples_make([DEEP + 1]))
    assert seqs_of([await next_data(alice)]) == [DEEP + 1]


async def test_a_deep_resume_from_the_middle_starts_right_after_since(
    connect: Connect, owner: Any, public_stream: Stream, deep_resumes: None
) -> None:
    await store(public_stream, range(1, DEEP + 1))
    alice = await connect(owner)
    since = DEEP - SHARED_ROWS - HISTORY_PAGE - 7
    frames = await deep_subscribe(alice, public_stream.slug, since=since)
    assert seqs_of(frames) == list(range(since + 1, DEEP + 1))


async def test_a_deep_resume_is_charged_the_rows_it_read_not_the_seqs_it_spans(
    connect: Connect, owner: Any, public_stream: Stream, settings: Any, deep_resumes: None
) -> None:
    # 6,000 seqs of the gap have no row (deleted between the read of the bounds and the pages).
    missing = 6_000
    last = DEEP + missing
    await store(public_stream, [*range(1, 3_001), *range(3_001 + missing, last + 1)])
    settings.PULSEBOARD_MAX_RESUME = last + 2_000
    alice = await connect(owner)
    frames = await deep_subscribe(alice, public_stream.slug, since=0)
    assert len(seqs_of(frames)) == DEEP
    await alice.command({"type": "unsubscribe", "stream": public_stream.slug}, "unsubscribed")
    # Left: the burst less the DEEP rows read (the missing ones were given back).
    left = settings.PULSEBOARD_MAX_RESUME - DEEP
    await alice.send({"type": "subscribe", "stream": public_stream.slug, "since": last - left - 1})
    refused = (await alice.receive_until("error", timeout=30))[-1]
    assert refused["code"] == "rate_limited"
    served = await deep_subscribe(alice, public_stream.slug, since=last - left)
    assert seqs_of(served) == list(range(last - left + 1, last + 1))
