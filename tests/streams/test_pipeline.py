"""Every way samples come in takes one path: stored, then published, then listeners' news."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from streams.history.stored import _stored
from streams.messages import Outgoing, SampleFrame, StreamStatusMessage, stream_group
from streams.models import Sample, Stream
from streams.producer.ingest import ingest_samples
from tests.support.producers import Clock, MakeProducer, sine_stream

pytestmark = pytest.mark.django_db(transaction=True)

NEWS_GROUP = "pipeline.news"


@pytest.fixture
def listener() -> Iterator[list[bool]]:
    """A listener of stored samples that says whether the samples were stored when it heard."""
    heard: list[bool] = []

    def hear(batches: dict[int, list[SampleFrame]]) -> list[Outgoing]:
        for stream_id, batch in batches.items():
            seqs = {sample["seq"] for sample in batch}
            found = Sample.objects.filter(stream_id=stream_id, seq__in=seqs).count()
            heard.append(found == len(seqs))
        news: StreamStatusMessage = {
            "type": "stream.status",
            "stream": "news",
            "running": True,
            "by": "x",
            "origin": "",
        }
        return [(NEWS_GROUP, news)]

    _stored.add(hear)
    yield heard
    _stored.functions.remove(hear)


async def watcher_of(slug: str) -> str:
    """Return a channel in the stream's group and the listeners' group, in that order of joining."""
    layer = get_channel_layer()
    channel: str = await layer.new_channel()
    await layer.group_add(stream_group(slug), channel)
    await layer.group_add(NEWS_GROUP, channel)
    return channel


async def types_received(channel: str, count: int) -> list[str]:
    layer = get_channel_layer()
    return [(await asyncio.wait_for(layer.receive(channel), 5))["type"] for _ in range(count)]


async def test_a_push_is_stored_before_listeners_hear_and_published_before_their_news(
    push_stream: Stream, owner: Any, listener: list[bool]
) -> None:
    channel = await watcher_of(push_stream.slug)
    await ingest_samples(stream=push_stream, user=owner, samples=[{"values": {"value": 1.5}}])
    assert listener == [True]
    assert await types_received(channel, 2) == ["stream.frame", "stream.status"]


async def test_a_producer_tick_is_stored_before_listeners_hear_and_published_before_their_news(
    make_producer: MakeProducer, listener: list[bool]
) -> None:
    stream = await database_sync_to_async(sine_stream)("sine.order")
    channel = await watcher_of(stream.slug)
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    clock.advance(100)
    await producer.tick()
    assert listener == [True]
    assert await types_received(channel, 2) == ["stream.frame", "stream.status"]
