"""The hub of a process: deliver-or-queue, expiry of unattached channels, the idle sweep."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.fanout.hub import SWEEP_SECONDS
from streams.fanout.layer import InProcessLayer


class Clock:
    """The hub's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def layer_with(clock: Clock, **config: Any) -> InProcessLayer:
    layer = InProcessLayer(**config)
    layer.parts().hub.clock = clock
    return layer


def queued(queue: asyncio.Queue[tuple[float, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [queue.get_nowait()[1] for _ in range(queue.qsize())]


async def test_a_member_that_takes_a_message_at_once_gets_nothing_queued() -> None:
    layer = InProcessLayer(capacity=10)
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
    layer = InProcessLayer(capacity=10)
    inbox = layer.attach("viewer", lambda message: False)
    await layer.group_add("stream.lab", "viewer")
    for n in (1, 2):
        await layer.group_send("stream.lab", {"type": "stream.frame", "n": n})
    assert [message["n"] for message in queued(inbox)] == [1, 2]


async def test_a_member_whose_delivery_fails_gets_it_queued_and_the_others_still_get_theirs() -> (
    None
):
    layer = InProcessLayer(capacity=10)

    def broken(message: dict[str, Any]) -> bool:
        raise RuntimeError("a consumer's bug")

    failing = layer.attach("failing", broken)
    after = layer.attach("after", lambda message: False)
    for channel in ("failing", "after"):
        await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "x"})
    assert queued(failing) == [{"type": "x"}]
    assert queued(after) == [{"type": "x"}]


async def test_expired_messages_are_dropped_and_their_channel_leaves_its_groups() -> None:
    clock = Clock()
    layer = layer_with(clock, expiry=5)
    gone, alive = await layer.new_channel(), await layer.new_channel()
    for channel in (gone, alive):
        await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "x", "n": 1})
    assert (await layer.receive(alive))["n"] == 1  # `gone` never reads
    clock.now += 10
    await layer.group_send("g", {"type": "x", "n": 2})
    hub = layer.parts().hub
    assert set(hub.groups["g"]) == {alive}
    assert hub.mailboxes[gone].queue.empty()
    assert (await layer.receive(alive))["n"] == 2


async def test_messages_not_yet_expired_are_kept_in_order() -> None:
    clock = Clock()
    layer = layer_with(clock, expiry=5)
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    await layer.send(channel, {"type": "x", "n": 1})
    clock.now += 3
    await layer.send(channel, {"type": "x", "n": 2})
    clock.now += 3  # the first is past its expiry, the second is not
    await layer.group_send("g", {"type": "x", "n": 3})
    # It let a message expire: it left the group before the third was sent.
    assert "g" not in layer.parts().hub.groups
    assert await layer.receive(channel) == {"type": "x", "n": 2}
    assert layer.parts().hub.mailboxes[channel].queue.empty()


async def test_an_attached_channel_never_expires() -> None:
    clock = Clock()
    layer = layer_with(clock, expiry=5)
    channel = await layer.new_channel()
    inbox = layer.attach(channel)
    await layer.group_add("g", channel)
    await layer.group_send("g", {"type": "x", "n": 1})
    clock.now += 60
    await layer.group_send("g", {"type": "x", "n": 2})
    assert [message["n"] for message in queued(inbox)] == [1, 2]
    assert set(layer.parts().hub.groups["g"]) == {channel}


async def test_the_sweep_forgets_channels_left_idle_and_keeps_those_waited_on() -> None:
    clock = Clock()
    layer = layer_with(clock)
    waiting, idle, member = [await layer.new_channel() for _ in range(3)]
    await layer.group_add("g", member)
    await layer.send(idle, {"type": "x"})
    await layer.receive(idle)
    receiver = asyncio.ensure_future(layer.receive(waiting))
    await asyncio.sleep(0)
    hub = layer.parts().hub
    clock.now += SWEEP_SECONDS
    hub.sweep_due()
    # Found idle once: it may be about to be used (a consumer between its calls).
    assert set(hub.mailboxes) == {waiting, idle, member}
    clock.now += SWEEP_SECONDS
    hub.sweep_due()
    assert set(hub.mailboxes) == {waiting, member}
    await layer.send(waiting, {"type": "late"})
    assert await receiver == {"type": "late"}


async def test_a_channel_used_between_two_sweeps_is_kept() -> None:
    clock = Clock()
    layer = layer_with(clock)
    channel = await layer.new_channel()
    hub = layer.parts().hub
    clock.now += SWEEP_SECONDS
    hub.sweep_due()
    await layer.send(channel, {"type": "x"})
    assert await layer.receive(channel) == {"type": "x"}
    clock.now += SWEEP_SECONDS
    hub.sweep_due()
    assert channel in hub.mailboxes


@pytest.mark.parametrize("attached", [True, False])
async def test_a_queue_never_holds_more_than_its_capacity(attached: bool) -> None:
    layer = InProcessLayer(capacity=4)
    channel = await layer.new_channel()
    if attached:
        layer.attach(channel)
    await layer.group_add("g", channel)
    for n in range(10):
        await layer.group_send("g", {"type": "x", "n": n})
    assert layer.parts().hub.mailboxes[channel].queue.qsize() == 4
