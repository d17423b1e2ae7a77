"""Channels' layer interface, on both of Pulseboard's layers: in-process and Redis.

Each test gets two layers standing for two processes of one deployment (the
in-process layer is one process, so both are the same layer) and checks what
Channels' own layers promise: send and receive, groups, capacity, flush.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.exceptions import ChannelFull
from django.conf import settings

from streams.fanout.layer import FanoutLayer, InProcessLayer, RedisLayer
from streams.metrics import metric_value
from tests.processes import RedisServer

Pair = tuple[FanoutLayer, FanoutLayer]
# How long a message may take through Redis on a loaded machine.
WITHIN = 5.0


def make_layer(kind: str, redis_server: RedisServer | None, **config: Any) -> FanoutLayer:
    if kind == "memory":
        return InProcessLayer(**config)
    assert redis_server is not None
    return RedisLayer(url=redis_server.url, options=settings.REDIS_CONNECTION_OPTIONS, **config)


@pytest.fixture(params=["memory", "redis"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """Return the layers of a web process and of a worker, with capacity 3."""
    redis = request.getfixturevalue("redis_server") if request.param == "redis" else None
    web = make_layer(request.param, redis, capacity=3)
    worker = web if request.param == "memory" else make_layer(request.param, redis, capacity=3)
    yield web, worker
    await web.flush()
    await worker.flush()


async def heard(layer: FanoutLayer, channel: str, within: float = WITHIN) -> dict[str, Any]:
    return await asyncio.wait_for(layer.receive(channel), within)


async def nothing_more(layer: FanoutLayer, channel: str) -> None:
    """Assert that nothing is queued for the channel (after what is in flight has landed)."""
    await asyncio.sleep(0.2)
    queue = layer.attach(channel)
    assert queue.empty(), f"queued: {queue.get_nowait()}"


async def joined(web: FanoutLayer, worker: FanoutLayer, group: str) -> None:
    """Return once the worker's messages to the group reach the web process (Redis subscribed).

    The probe that found out stays in the group, taking every message at once, so
    members that join afterwards hear the group at once and nothing is queued for it.
    """
    arrived = asyncio.Event()

    def take(message: dict[str, Any]) -> bool:
        arrived.set()
        return True

    probe = await web.new_channel()
    web.attach(probe, take)
    await web.group_add(group, probe)
    while not arrived.is_set():
        await worker.group_send(group, {"type": "probe"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), 0.2)


async def test_a_message_sent_to_a_channel_is_received_there(pair: Pair) -> None:
    web, worker = pair
    channel = await web.new_channel()
    await worker.send(channel, {"type": "hello", "text": "é", "n": [1, 2.5, None, True]})
    assert await heard(web, channel) == {"type": "hello", "text": "é", "n": [1, 2.5, None, True]}


async def test_new_channels_are_valid_and_distinct(pair: Pair) -> None:
    web, _ = pair
    names = {await web.new_channel() for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert web.require_valid_channel_name(name)


async def test_a_group_message_reaches_every_member_once_in_order(pair: Pair) -> None:
    web, worker = pair
    await joined(web, worker, "stream.a")
    members = [await web.new_channel() for _ in range(3)]
    for channel in members:
        await web.group_add("stream.a", channel)
    for n in range(3):
        await worker.group_send("stream.a", {"type": "stream.frame", "n": n})
    for channel in members:
        assert [(await heard(web, channel))["n"] for _ in range(3)] == [0, 1, 2]
        await nothing_more(web, channel)


async def test_every_member_gets_the_same_message_decoded_once(pair: Pair) -> None:
    web, worker = pair
    await joined(web, worker, "g")
    members = [await web.new_channel() for _ in range(3)]
    queues = [web.attach(channel) for channel in members]
    for channel in members:
        await web.group_add("g", channel)
    await worker.group_send("g", {"type": "probe", "n": 1})
    received = [(await asyncio.wait_for(queue.get(), WITHIN))[1] for queue in queues]
    assert received[0] == {"type": "probe", "n": 1}
    assert all(message is received[0] for message in received)


async def test_a_member_that_left_gets_nothing(pair: Pair) -> None:
    web, worker = pair
    await joined(web, worker, "g")
    stays, leaves = await web.new_channel(), await web.new_channel()
    for channel in (stays, leaves):
        await web.group_add("g", channel)
    await web.group_discard("g", leaves)
    await worker.group_send("g", {"type": "x"})
    assert await heard(web, stays) == {"type": "x"}
    await nothing_more(web, leaves)


async def test_a_detached_channel_leaves_its_groups(pair: Pair) -> None:
    web, worker = pair
    await joined(web, worker, "g")
    stays, leaves = await web.new_channel(), await web.new_channel()
    for channel in (stays, leaves):
        await web.group_add("g", channel)
    web.attach(leaves)
    await web.detach(leaves)
    await worker.group_send("g", {"type": "x"})
    assert await heard(web, stays) == {"type": "x"}
    assert leaves not in web.parts().hub.groups["g"]


async def test_a_full_member_loses_its_messages_counted_and_nobody_else_does(pair: Pair) -> None:
    web, worker = pair
    await joined(web, worker, "g")
    slow, fast = await web.new_channel(), await web.new_channel()
    slow_queue = web.attach(slow)
    for channel in (slow, fast):
        await web.group_add("g", channel)
    before = metric_value("pulseboard_frames_dropped_total")
    for n in range(5):
        await worker.group_send("g", {"type": "x", "n": n})
        assert (await heard(web, fast))["n"] == n
    assert metric_value("pulseboard_frames_dropped_total") == before + 2
    # The oldest are kept: the consumer refills the rest from history.
    assert [slow_queue.get_nowait()[1]["n"] for _ in range(3)] == [0, 1, 2]


async def test_a_group_the_process_never_joined_costs_nothing_to_send_to(pair: Pair) -> None:
    web, worker = pair
    await worker.group_send("nobody.here", {"type": "x"})
    assert "nobody.here" not in web.parts().hub.groups


async def test_a_cancelled_receive_gives_the_channel_up(pair: Pair) -> None:
    # Channels' consumer loop ends by cancelling its receive; the channel must not linger.
    web, _ = pair
    channel = await web.new_channel()
    await web.group_add("g", channel)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(web.receive(channel), 0.05)
    assert channel not in web.parts().hub.mailboxes
    assert "g" not in web.parts().hub.groups


async def test_flush_forgets_every_channel_and_group(pair: Pair) -> None:
    web, worker = pair
    channel = await web.new_channel()
    await web.group_add("g", channel)
    await web.send(channel, {"type": "x"})
    await web.flush()
    assert web.parts().hub.mailboxes == {} and web.parts().hub.groups == {}
    # As new: it goes on working.
    await joined(web, worker, "g")
    again = await web.new_channel()
    await web.group_add("g", again)
    await worker.group_send("g", {"type": "after"})
    assert await heard(web, again) == {"type": "after"}


async def test_names_channels_refuse_are_refused_before_anything_is_sent(pair: Pair) -> None:
    web, _ = pair
    with pytest.raises(TypeError):
        await web.group_send("bad group!", {"type": "x"})
    with pytest.raises(TypeError):
        await web.send("x" * 200, {"type": "x"})
    with pytest.raises(TypeError):
        await web.group_add("g", "bad channel?")


async def test_a_direct_send_past_capacity_is_refused_in_process() -> None:
    layer = InProcessLayer(capacity=2, channel_capacity={"slow.*": 1})
    channel = await layer.new_channel()
    for n in range(2):
        await layer.send(channel, {"type": "x", "n": n})
    with pytest.raises(ChannelFull):
        await layer.send(channel, {"type": "x", "n": 2})
    # A channel matching a `channel_capacity` pattern has that capacity instead.
    await layer.send("slow.one", {"type": "x"})
    with pytest.raises(ChannelFull):
        await layer.send("slow.one", {"type": "x"})
