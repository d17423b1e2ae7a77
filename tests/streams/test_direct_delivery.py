"""Frames handed to a waiting socket at once, and history reads shared by subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

import pytest

from streams.live.layers import LocalChannelLayer
from streams.live.shared_reads import Batches
from streams.live.sockets import wire_frame


async def test_a_member_that_takes_a_message_at_once_gets_nothing_queued() -> None:
    layer = LocalChannelLayer(capacity=10)
    taken: list[dict[str, Any]] = []

    def take(message: dict[str, Any]) -> bool:
        taken.append(message)
        return True

    inbox = layer.attach("viewer", take)
    await layer.group_add("stream.lab", "viewer")
    await layer.group_send("stream.lab", {"type": "stream.frame", "n": 1})
    assert taken == [{"type": "stream.frame", "n": 1}]
    assert inbox.empty()


async def test_a_member_that_declines_gets_the_message_queued_in_order() -> None:
    layer = LocalChannelLayer(capacity=10)
    inbox = layer.attach("viewer", lambda message: False)
    await layer.group_add("stream.lab", "viewer")
    for n in (1, 2):
        await layer.group_send("stream.lab", {"type": "stream.frame", "n": n})
    assert [inbox.get_nowait()[1]["n"] for _ in range(2)] == [1, 2]


def test_a_frame_is_framed_once_for_every_socket_sending_it() -> None:
    text = '{"type":"data","stream":"lab","samples":[]}'
    wire = wire_frame(text)
    assert wire_frame(text) is wire
    assert wire[0] == 0x81 and wire[1] == len(text) and wire[2:] == text.encode()


@pytest.mark.django_db(transaction=True)  # reads run where Django's connections are kept
async def test_subscribers_who_arrive_during_a_read_share_the_next_one() -> None:
    reads: list[list[int]] = []
    started = asyncio.Event()
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def read(key: Hashable, requests: list[int]) -> list[int]:
        reads.append(requests)
        if len(reads) == 1:
            loop.call_soon_threadsafe(started.set)
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result()
        return [len(reads)] * len(requests)

    batches: Batches[int, int] = Batches(read)
    first = asyncio.ensure_future(batches.ask("lab", 1))
    await asyncio.wait_for(started.wait(), 10)
    later = [asyncio.ensure_future(batches.ask("lab", n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    # The first read began before the others asked: they get a read of their own, together.
    assert await asyncio.wait_for(first, 10) == 1
    assert [await asyncio.wait_for(task, 10) for task in later] == [2, 2, 2]
    assert reads == [[1], [2, 3, 4]]
