"""What a subscriber gets when the stream moves on while it subscribes."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from streams.live import shared_reads
from streams.models import SourceKind, Stream
from tests.support.samples import samples_make, samples_store
from tests.support.sockets import frame_publish

pytestmark = pytest.mark.django_db(transaction=True)


async def test_backfill_read_after_newer_samples_were_stored_sends_none_twice(
    connect: Any, owner: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = await Stream.objects.acreate(
        slug="race.lab", title="Race", source_kind=SourceKind.PUSH, owner=owner
    )
    await database_sync_to_async(samples_store)(stream, range(1, 11))
    # The last seq is read before the producer stores 6..10, the backfill after.
    monkeypatch.setattr(shared_reads, "history_last_seq", lambda stream_id: 5)
    alice = await connect(owner)
    await alice.send({"type": "subscribe", "stream": "race.lab", "backfill": 20})
    await alice.receive_until("subscribed")
    await frame_publish("race.lab", samples_make(range(6, 13)))
    seqs: list[int] = []
    while not seqs or seqs[-1] < 12:
        frame = (await alice.receive_until("data"))[-1]
        seqs += [sample["seq"] for sample in frame["samples"]]
    assert seqs == list(range(1, 13))
