"""Producers sharing streams: one owner per lease, take-over, and the run loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Sample, SourceKind, Stream
from tests.support.producers import LEASE_SECONDS, Clock, MakeProducer, assert_contiguous, lease_of
from tests.support.samples import EPOCH_MS, stored_samples_async

pytestmark = pytest.mark.django_db(transaction=True)


async def test_two_producers_never_both_own_a_stream(
    make_producer: MakeProducer, sine: Stream
) -> None:
    clock = Clock()
    first = make_producer("worker-a", clock)
    second = make_producer("worker-b", clock)
    for _ in range(4):
        await first.reconcile()
        await second.reconcile()
        await first.tick()
        await second.tick()
        clock.advance(LEASE_SECONDS * 1000 // 2)  # renewed in time
    assert set(first.runners) == {sine.pk}
    assert second.runners == {}
    assert (await lease_of(sine))[0] == "worker-a"
    assert_contiguous(await stored_samples_async(sine))


async def test_an_expired_lease_is_taken_over_and_seq_continues(
    make_producer: MakeProducer, sine: Stream
) -> None:
    clock = Clock()
    crashed = make_producer("worker-a", clock)
    await crashed.reconcile()
    await crashed.tick()
    clock.advance(100)
    await crashed.tick()
    assert len(await stored_samples_async(sine)) == 11

    # worker-a stops renewing; worker-b waits out the lease.
    successor = make_producer("worker-b", clock)
    clock.advance(LEASE_SECONDS * 1000 - 1000)
    await successor.reconcile()
    assert successor.runners == {}
    clock.advance(2000)
    await successor.reconcile()
    assert set(successor.runners) == {sine.pk}
    await successor.tick()
    clock.advance(50)
    await successor.tick()
    assert (await lease_of(sine))[0] == "worker-b"

    # worker-a comes back, finds it lost the lease, and stops producing.
    await crashed.reconcile()
    assert crashed.runners == {}
    rows = await stored_samples_async(sine)
    assert_contiguous(rows)
    assert len(rows) == 17


async def test_a_new_owner_carries_on_the_walks_from_the_stored_values(
    make_producer: MakeProducer, owner: Any
) -> None:
    sensor = await database_sync_to_async(Stream.objects.create)(
        slug="sensors.lab-1", title="Lab", source_kind=SourceKind.SENSOR, running=True
    )
    market = await database_sync_to_async(Stream.objects.create)(
        slug="price.BTC-USD", title="BTC", source_kind=SourceKind.MARKET, running=True
    )
    before = EPOCH_MS + 999_000
    last_sensor = {"temperature": 27.9, "humidity": 31.0, "pressure": 1019.5}
    last_market = {"price": 70_000.0, "change": 5_000.0, "change_pct": 7.6923, "volume": 12.5}
    await database_sync_to_async(history_append)(
        {
            sensor.pk: [sample_frame(7, before, last_sensor)],
            market.pk: [sample_frame(3, before, last_market)],
        }
    )
    producer = make_producer()
    await producer.reconcile()
    await producer.tick()

    assert [row.seq for row in await stored_samples_async(sensor)] == [7, 8]
    reading = await database_sync_to_async(
        lambda: Sample.objects.get(stream=sensor, seq=8).values
    )()
    for name, value in last_sensor.items():
        assert abs(reading[name] - value) <= 1.0, name
    tick = await database_sync_to_async(lambda: Sample.objects.get(stream=market, seq=4).values)()
    assert tick["price"] == pytest.approx(70_000, rel=0.01)
    assert tick["change"] == pytest.approx(tick["price"] - 65_000, abs=0.02)
    assert tick["volume"] > 12.5


async def test_a_producer_that_could_not_renew_its_lease_stops_publishing(
    make_producer: MakeProducer, sine: Stream
) -> None:
    layer: Any = get_channel_layer()
    watcher = await layer.new_channel()
    await layer.group_add("stream.sine.fast", watcher)
    clock = Clock()
    stale = make_producer("worker-a", clock)
    await stale.reconcile()
    await stale.tick()
    # worker-a's reconciles fail from here on; its lease runs out and worker-b takes over.
    clock.advance(LEASE_SECONDS * 1000 + 1000)
    successor = make_producer("worker-b", clock)
    await successor.reconcile()
    assert set(successor.runners) == {sine.pk}
    for _ in range(3):
        clock.advance(50)
        await stale.tick()
        await successor.tick()
    published: list[int] = []
    while True:
        try:
            frame = await asyncio.wait_for(layer.receive(watcher), 0.1)
        except TimeoutError:
            break
        published += range(frame["first"], frame["last"] + 1)
    assert len(published) == len(set(published)), "a seq was published twice"
