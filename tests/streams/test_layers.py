"""The single-process channel layer and the coalescing presence announcer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.exceptions import ChannelFull

from streams.live import layers
from streams.live.census import Announcer
from streams.live.layers import LocalChannelLayer
from streams.live.presence import Presence


async def drain(layer: LocalChannelLayer, channel: str) -> list[dict[str, Any]]:
    got = []
    while True:
        try:
            got.append(await asyncio.wait_for(layer.receive(channel), 0.05))
        except TimeoutError:
            return got


async def test_a_group_message_reaches_every_member_once_in_order() -> None:
    layer = LocalChannelLayer(capacity=10)
    members = [await layer.new_channel() for _ in range(3)]
    for channel in members:
        await layer.group_add("stream.a", channel)
    for n in range(3):
        await layer.group_send("stream.a", {"type": "stream.frame", "n": n})
    for channel in members:
        assert [m["n"] for m in await drain(layer, channel)] == [0, 1, 2]


async def test_a_full_member_loses_its_messages_and_nobody_else_does() -> None:
    layer = LocalChannelLayer(capacity=2)
    slow, fast = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("g", slow)
    await layer.group_add("g", fast)
    for n in range(4):
        await layer.group_send("g", {"type": "x", "n": n})
        assert (await layer.receive(fast))["n"] == n
    assert [m["n"] for m in await drain(layer, slow)] == [0, 1]
    with pytest.raises(ChannelFull):
        for n in range(3):
            await layer.send(slow, {"type": "x", "n": n})


async def test_a_member_that_left_gets_nothing() -> None:
    layer = LocalChannelLayer()
    stays, leaves = await layer.new_channel(), await layer.new_channel()
    for channel in (stays, leaves):
        await layer.group_add("g", channel)
    await layer.group_discard("g", leaves)
    await layer.group_send("g", {"type": "x"})
    assert await drain(layer, leaves) == []
    assert await drain(layer, stays) == [{"type": "x"}]


async def test_expired_messages_are_dropped_and_their_channel_leaves_its_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(layers.time, "time", lambda: clock[0])
    layer = LocalChannelLayer(expiry=5)
    gone, alive = await layer.new_channel(), await layer.new_channel()
    for channel in (gone, alive):
        await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "x", "n": 1})
    assert (await layer.receive(alive))["n"] == 1  # `gone` never reads
    clock[0] += 10
    await layer.group_send("g", {"type": "x", "n": 2})
    assert layer.groups["g"].keys() == {alive}
    assert gone not in layer.channels
    assert (await layer.receive(alive))["n"] == 2


async def test_the_sweep_forgets_empty_queues_nobody_waits_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(layers.time, "time", lambda: clock[0])
    layer = LocalChannelLayer()
    waiting, idle = await layer.new_channel(), await layer.new_channel()
    await layer.send(idle, {"type": "x"})
    await layer.receive(idle)
    receiver = asyncio.ensure_future(layer.receive(waiting))
    await asyncio.sleep(0)
    clock[0] += 2
    layer.sweep()
    assert set(layer.channels) == {waiting}
    await layer.send(waiting, {"type": "late"})
    assert await receiver == {"type": "late"}


class GroupLog:
    """A stand-in for the layer that records what the announcer sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def test_many_joins_at_once_cost_two_announcements_with_the_final_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    watching = Presence()
    monkeypatch.setattr("streams.live.census.presence", watching)
    announcer, sent = Announcer(interval=0.2), GroupLog()
    for n in range(50):
        watching.watch("sine", f"c{n}", f"user:{n % 5}")
        await announcer.announce(sent, "sine")
    assert [m["connections"] for m in sent.sent] == [1]
    await asyncio.sleep(0.3)
    assert sent.sent[-1] == {
        "type": "stream.presence",
        "stream": "sine",
        "connections": 50,
        "users": 5,
    }
    assert len(sent.sent) == 2
    await asyncio.sleep(0.25)
    watching.unwatch("sine", "c0")
    await announcer.announce(sent, "sine")
    assert sent.sent[-1]["connections"] == 49  # after a quiet interval: at once


async def test_connection_counts_per_viewer_follow_connects_and_disconnects() -> None:
    watching = Presence()
    for n in range(3):
        watching.connect(f"c{n}", "user:1")
    watching.connect("c3", "user:2")
    watching.connect("c0", "user:1")  # the same channel again counts once
    assert watching.connection_count("user:1") == 3
    watching.disconnect("c1")
    watching.disconnect("c1")
    assert watching.connection_count("user:1") == 2
    assert watching.connection_count("user:2") == 1
