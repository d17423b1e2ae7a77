"""The producer: seq, store-then-publish, start/stop, settings, failures, retention, Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import OperationalError

from streams.fanout.layer import RedisLayer
from streams.messages import data_frame, sample_frame
from streams.models import SourceKind, Stream
from streams.producer.control import stream_set_running
from streams.publishing import send_stream_status
from tests.support.producers import (
    Clock,
    MakeProducer,
    StorageWitnessLayer,
    assert_contiguous,
    lease_of,
    sine_stream,
)
from tests.support.samples import EPOCH_MS, samples_store, stored_samples_async
from tests.support.sockets import Connect, seqs_of

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_stores_every_reading_with_contiguous_seq(
    make_producer: MakeProducer, sine: Stream
) -> None:
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await producer.tick()
    for _ in range(5):
        clock.advance(50)
        await producer.tick()
    rows = await stored_samples_async(sine)
    assert len(rows) == 26  # at 0, then every 10 ms for 250 ms
    assert_contiguous(rows)
    assert rows[0][1] == clock.now - 250 and rows[-1][1] == clock.now


async def test_seq_continues_from_stored_history_without_a_hole(
    make_producer: MakeProducer, sine: Stream
) -> None:
    await database_sync_to_async(samples_store)(sine, range(1, 41))
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await producer.tick()
    clock.advance(30)
    await producer.tick()
    rows = await stored_samples_async(sine)
    assert [row.seq for row in rows] == list(range(1, 45))


async def test_samples_are_stored_before_they_are_published(
    make_producer: MakeProducer, sine: Stream, witness_layer: StorageWitnessLayer
) -> None:
    watcher = await witness_layer.new_channel()
    await witness_layer.group_add("stream.sine.fast", watcher)
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await producer.tick()
    clock.advance(100)
    await producer.tick()

    first = await asyncio.wait_for(witness_layer.receive(watcher), 1)
    second = await asyncio.wait_for(witness_layer.receive(watcher), 1)
    assert (first["first"], first["last"]) == (1, 1)
    assert (second["first"], second["last"]) == (2, 11)
    assert witness_layer.published == [(1, 1, 1), (2, 11, 10)]

    rows = await stored_samples_async(sine)
    expected = [sample_frame(row.seq, row.t, row.values) for row in rows[1:]]
    assert second["text"] == data_frame("sine.fast", expected)


async def test_a_stopped_stream_stops_at_the_next_reconcile_and_resumes_its_seq(
    make_producer: MakeProducer, sine: Stream
) -> None:
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await producer.tick()
    clock.advance(40)
    await producer.tick()
    assert len(await stored_samples_async(sine)) == 5

    await database_sync_to_async(stream_set_running)(
        stream_id=sine.pk, slug=sine.slug, running=False
    )
    await producer.reconcile()
    clock.advance(1000)
    await producer.tick()
    assert len(await stored_samples_async(sine)) == 5
    assert await lease_of(sine) == ("", 0)

    await database_sync_to_async(stream_set_running)(
        stream_id=sine.pk, slug=sine.slug, running=True
    )
    await producer.reconcile()
    await producer.tick()
    clock.advance(20)
    await producer.tick()
    rows = await stored_samples_async(sine)
    assert_contiguous(rows)
    assert len(rows) == 8


async def test_changed_settings_apply_at_the_next_reconcile_and_seq_goes_on(
    make_producer: MakeProducer, sine: Stream
) -> None:
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await producer.tick()
    clock.advance(1000)
    await producer.tick()
    assert (
        max(abs(v) for v in [row.values["value"] for row in await stored_samples_async(sine)]) <= 1
    )

    await database_sync_to_async(Stream.objects.filter(pk=sine.pk).update)(
        source_settings={"rate": 100, "amplitude": 50}
    )
    await producer.reconcile()
    await producer.tick()
    clock.advance(1000)
    await producer.tick()
    values = [row.values["value"] for row in await stored_samples_async(sine)]
    assert len(values) == 202
    assert max(abs(v) for v in values[101:]) > 40
    assert_contiguous(await stored_samples_async(sine))


async def test_a_stream_with_settings_its_source_refuses_is_skipped(
    make_producer: MakeProducer, sine: Stream
) -> None:
    broken = await database_sync_to_async(sine_stream)("a.broken")
    await database_sync_to_async(Stream.objects.filter(pk=broken.pk).update)(
        source_settings={"rate": "fast"}
    )
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    assert set(producer.runners) == {sine.pk}
    await producer.tick()
    clock.advance(20)
    await producer.tick()
    assert len(await stored_samples_async(sine)) == 3
    assert await stored_samples_async(broken) == []


async def test_a_stream_whose_settings_are_not_an_object_is_skipped(
    make_producer: MakeProducer, sine: Stream
) -> None:
    broken = await database_sync_to_async(sine_stream)("a.broken")
    await database_sync_to_async(Stream.objects.filter(pk=broken.pk).update)(
        source_settings=["rate", 100]
    )
    producer = make_producer()
    await producer.guarded(producer.reconcile)
    assert set(producer.runners) == {sine.pk}


async def test_a_source_that_fails_to_read_does_not_stop_the_others(
    make_producer: MakeProducer, sine: Stream
) -> None:
    await database_sync_to_async(Stream.objects.create)(
        slug="system.missing-disk",
        title="Broken disk path",
        source_kind=SourceKind.SYSTEM,
        source_settings={"disk_path": "/no/such/disk"},
        running=True,
    )
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    for _ in range(3):
        await producer.guarded(producer.tick)
        clock.advance(100)
    rows = await stored_samples_async(sine)
    assert len(rows) == 21
    assert_contiguous(rows)


async def test_retention_deletes_samples_older_than_the_stream_keeps(
    make_producer: MakeProducer, sine: Stream
) -> None:
    await database_sync_to_async(Stream.objects.filter(pk=sine.pk).update)(retention_seconds=60)
    await database_sync_to_async(samples_store)(sine, range(1, 101))  # t = EPOCH + seq s
    producer = make_producer(clock=Clock(EPOCH_MS + 100_000))
    await producer.reconcile()
    assert producer.retention is not None  # the first reconcile starts a pass, off the loop
    await producer.retention
    seqs = [row.seq for row in await stored_samples_async(sine)]
    assert seqs == list(range(40, 101))


async def test_retention_also_trims_push_and_stopped_streams(
    make_producer: MakeProducer, push_stream: Stream
) -> None:
    stopped = await database_sync_to_async(sine_stream)("sine.stopped", running=False)
    for stream in (push_stream, stopped):
        await database_sync_to_async(Stream.objects.filter(pk=stream.pk).update)(
            retention_seconds=60
        )
        await database_sync_to_async(samples_store)(stream, range(1, 101))
    producer = make_producer(clock=Clock(EPOCH_MS + 100_000))
    await producer.reconcile()
    assert producer.retention is not None  # the first reconcile starts a pass, off the loop
    await producer.retention
    assert [row.seq for row in await stored_samples_async(push_stream)] == list(range(40, 101))
    assert [row.seq for row in await stored_samples_async(stopped)] == list(range(40, 101))


async def locked_retry(function: Callable[[], Any]) -> Any:
    """Run a write while the producer's thread writes too, retrying SQLite's table locks.

    The tests' in-memory SQLite shares one cache between threads, and a shared-cache
    table lock fails at once instead of waiting.
    """
    for _ in range(100):
        try:
            return await database_sync_to_async(function)()
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            await asyncio.sleep(0.02)
    raise AssertionError("the table stayed locked")


async def test_run_produces_until_stopped_and_gives_its_leases_back(
    make_producer: MakeProducer, owner: Any
) -> None:
    running = await database_sync_to_async(sine_stream)("sine.running")
    later = await database_sync_to_async(sine_stream)("sine.later", running=False)
    layer: Any = get_channel_layer()
    watcher = await layer.new_channel()
    for slug in ("sine.running", "sine.later"):
        await layer.group_add(f"stream.{slug}", watcher)
    last_published: dict[str, int] = {}

    async def published(slug: str, seq: int) -> bool:
        while last_published.get(slug, 0) < seq:
            message = await asyncio.wait_for(layer.receive(watcher), 5)
            if message["type"] == "stream.frame":
                last_published[message["stream"]] = message["last"]
        return True

    producer = make_producer()
    producer.clock = lambda: int(time.time() * 1000)
    stop = asyncio.Event()
    task = asyncio.create_task(producer.run(stop))
    try:
        await published("sine.running", 10)
        assert "sine.later" not in last_published

        # Started from a page: the producer hears of it long before its next reconcile (60 s).
        await locked_retry(
            lambda: stream_set_running(stream_id=later.pk, slug=later.slug, running=True)
        )
        await send_stream_status(slug="sine.later", running=True, by="alice")
        await published("sine.later", 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)

    for stream in (running, later):
        assert_contiguous(await stored_samples_async(stream))
        assert len(await stored_samples_async(stream)) >= 10
        assert await lease_of(stream) == ("", 0)


async def test_a_frame_reaches_a_browser_through_redis(
    redis_layer: str, connect: Connect, make_producer: MakeProducer, owner: Any, sine: Stream
) -> None:
    alice = await connect(owner)
    await alice.send({"type": "subscribe", "stream": "sine.fast"})
    await alice.receive_until("presence", timeout=5)
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    await producer.tick()
    clock.advance(30)
    await producer.tick()
    frames = [(await alice.receive_until("data", timeout=5))[-1]]
    if seqs_of(frames)[-1] != 4:
        frames.append((await alice.receive_until("data", timeout=5))[-1])
    assert seqs_of(frames) == [1, 2, 3, 4]
    assert isinstance(get_channel_layer(), RedisLayer)


async def test_a_replay_stops_itself_at_the_end_and_says_so(
    make_producer: MakeProducer, private_stream: Stream
) -> None:
    await database_sync_to_async(samples_store)(private_stream, range(1, 6))
    replay = await database_sync_to_async(Stream.objects.create)(
        slug="replay.alice",
        title="Alice's sensor again",
        source_kind=SourceKind.REPLAY,
        source_settings={
            "source": "sensors.alice",
            "from": EPOCH_MS,
            "to": EPOCH_MS + 10_000,
            "speed": 100,
        },
        fields=private_stream.fields,
        running=True,
    )
    layer: Any = get_channel_layer()
    watcher = await layer.new_channel()
    await layer.group_add("stream.replay.alice", watcher)
    clock = Clock()
    producer = make_producer(clock=clock)
    await producer.reconcile()
    for _ in range(5):
        await producer.tick()
        clock.advance(20)
    rows = await stored_samples_async(replay)
    assert_contiguous(rows)
    assert len(rows) == 5
    assert [row.values["temperature"] for row in await stored_samples_async(replay)] == [
        20 + seq / 100 for seq in range(1, 6)
    ]
    assert not (await database_sync_to_async(Stream.objects.get)(pk=replay.pk)).running
    assert replay.pk not in producer.runners
    messages: list[dict[str, Any]] = []
    while not messages or messages[-1]["type"] != "stream.status":
        messages.append(await asyncio.wait_for(layer.receive(watcher), 1))
    assert messages[-1] == {
        "type": "stream.status",
        "stream": "replay.alice",
        "running": False,
        "by": "producer",
        "origin": "",
    }
