"""Frames handed to a waiting socket at once, and history reads shared by subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

import pytest

from streams.batches import Batches
from streams.fanout.transport import DirectWriter, wire_frame, write_batch
from streams.live.shared_reads import in_history_thread


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

    batches: Batches[int, int] = Batches(read, in_history_thread)
    first = asyncio.ensure_future(batches.ask("lab", 1))
    await asyncio.wait_for(started.wait(), 10)
    later = [asyncio.ensure_future(batches.ask("lab", n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    # The first read began before the others asked: they get a read of their own, together.
    assert await asyncio.wait_for(first, 10) == 1
    assert [await asyncio.wait_for(task, 10) for task in later] == [2, 2, 2]
    assert reads == [[1], [2, 3, 4]]


class RecordingTransport:
    """The transport side of a socket: what was written, one entry per system call."""

    def __init__(self) -> None:
        self.calls: list[list[bytes]] = []
        self.closing = False

    def writelines(self, parts: list[bytes]) -> None:
        self.calls.append(list(parts))

    def write(self, data: bytes) -> None:
        self.calls.append([data])

    def is_closing(self) -> bool:
        return self.closing


class TransportWriter(DirectWriter):
    """A direct writer whose socket is open for as long as its transport is."""

    def write_shared(self, text: str) -> bool:
        return not self.transport.is_closing() and self.take(wire_frame(text))


def writer_of(transport: RecordingTransport) -> DirectWriter:
    async def asgi_send(message: dict[str, Any]) -> None:
        transport.write(message["text"].encode())

    return TransportWriter(asgi_send, transport, write_batch())  # type: ignore[arg-type]


async def test_a_sockets_first_frame_of_a_moment_leaves_at_once_the_rest_together() -> None:
    transport = RecordingTransport()
    writer = writer_of(transport)
    texts = [f'{{"type":"data","stream":"s{n}","samples":[]}}' for n in range(3)]
    frames = [wire_frame(text) for text in texts]
    assert all(writer.write_shared(text) for text in texts)
    assert transport.calls == [frames[:1]]  # the rest wait for the moment to end
    await asyncio.sleep(0)
    assert transport.calls == [frames[:1], frames[1:]]
    # A new moment: its first frame leaves at once again.
    assert writer.write_shared(texts[0])
    assert transport.calls[-1] == frames[:1]


async def test_what_a_socket_sends_the_asgi_way_follows_the_frames_held_for_it() -> None:
    transport = RecordingTransport()
    writer = writer_of(transport)
    texts = [f'{{"type":"data","stream":"s{n}","samples":[]}}' for n in range(2)]
    assert all(writer.write_shared(text) for text in texts)
    await writer.send_text("after")
    assert transport.calls == [[wire_frame(texts[0])], [wire_frame(texts[1])], [b"after"]]
    await asyncio.sleep(0)  # the moment's own flush finds nothing left
    assert len(transport.calls) == 3


async def test_frames_held_for_a_socket_that_closed_meanwhile_are_not_written() -> None:
    transport = RecordingTransport()
    writer = writer_of(transport)
    assert writer.write_shared('{"n":1}')
    assert writer.write_shared('{"n":2}')
    transport.closing = True
    await asyncio.sleep(0)
    assert transport.calls == [[wire_frame('{"n":1}')]]
    assert not writer.write_shared("{}")
