"""The allowance of stored samples a second is the user's, across all their sockets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async

from streams.live.shared_reads import SnapshotReads, Wanted
from streams.models import SourceKind, Stream
from tests.streams.live_client import Live
from tests.support.factories import make_stream
from tests.support.samples import samples_store
from tests.support.sockets import Connect

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 1000  # rows a second; also the burst (PULSEBOARD_MAX_RESUME)
STORED = 3000


def streams_make(owner: Any, count: int) -> list[Stream]:
    """Return `count` public streams of `owner`, each with STORED samples."""
    made = []
    for n in range(count):
        stream = make_stream(
            f"sensors.deep-{n}",
            kind=SourceKind.SENSOR,
            title=f"Deep {n}",
            fields=[{"name": "temperature", "unit": "°C"}],
            owner=owner,
            is_public=True,
            running=False,
        )
        samples_store(stream, range(1, STORED + 1))
        made.append(stream)
    return made


@pytest.fixture
def tight_allowance(settings: Any) -> None:
    settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND = RATE
    settings.PULSEBOARD_MAX_RESUME = RATE
    settings.PULSEBOARD_COMMANDS_PER_SECOND = 100
    settings.PULSEBOARD_COMMAND_BURST = 100


async def resume_from_the_start(live: Live, slug: str) -> int | None:
    """Resume `slug` from seq 0; return the stored samples sent, or None when refused."""
    await live.send({"type": "subscribe", "stream": slug, "since": 0})
    frames = await live.roundtrip()
    if any(f["type"] == "error" and f["code"] == "rate_limited" for f in frames):
        return None
    assert any(f["type"] == "subscribed" for f in frames), frames
    await live.command({"type": "unsubscribe", "stream": slug}, "unsubscribed")
    return sum(len(f["samples"]) for f in frames if f["type"] == "data")


async def pull_for(live: Live, slug: str, until: float) -> int:
    """Resume again and again until `until`; return every stored sample received."""
    received = 0
    while time.monotonic() < until:
        rows = await resume_from_the_start(live, slug)
        if rows is None:
            await asyncio.sleep(0.05)
        else:
            received += rows
    return received


async def test_two_sockets_of_one_user_share_one_allowance(
    connect: Connect, owner: Any, outsider: Any, tight_allowance: None
) -> None:
    first, second, third = await database_sync_to_async(streams_make)(owner, 3)
    laptop, phone, mallory = await connect(owner), await connect(owner), await connect(outsider)
    started = time.monotonic()
    alices_laptop, alices_phone, mallorys = await asyncio.gather(
        pull_for(laptop, first.slug, started + 4),
        pull_for(phone, second.slug, started + 4),
        pull_for(mallory, third.slug, started + 4),
    )
    elapsed = time.monotonic() - started
    # Each resume reads RATE rows; Alice's two sockets together stay within one allowance...
    assert alices_laptop + alices_phone <= RATE + RATE * elapsed, (alices_laptop, alices_phone)
    assert alices_laptop + alices_phone >= 3 * RATE
    # ...and Mallory, pulling at the same time, has the whole of hers.
    assert mallorys >= 3 * RATE


def test_a_read_shared_by_a_batch_is_charged_to_the_largest_ask(owner: Any) -> None:
    (stream,) = streams_make(owner, 1)
    asks = [Wanted(backfill=100), Wanted(since=STORED - 400), Wanted(backfill=250)]
    snapshots = SnapshotReads()((stream.pk, stream.slug), asks)
    assert snapshots[0].payer is asks[1]
    assert len(snapshots[0].recent) == 400


def test_a_resume_reads_no_further_back_than_it_may_go(owner: Any, settings: Any) -> None:
    settings.PULSEBOARD_MAX_RESUME = 500
    (stream,) = streams_make(owner, 1)
    (snapshot,) = SnapshotReads()((stream.pk, stream.slug), [Wanted(since=0)])
    # The resume is cut to the newest 500 samples; reading more would be for nothing.
    assert [s["seq"] for s in snapshot.recent] == list(range(STORED - 499, STORED + 1))
