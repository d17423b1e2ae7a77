"""A live socket's one line of messages: the layer's messages held while a subscribe runs."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.exceptions import StopConsumer

from streams.live.inbox import Inbox


async def test_held_frames_are_handled_in_order_when_a_subscribe_ends_on_a_full_queue() -> None:
    queue: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue(maxsize=3)
    inbox = Inbox(queue)
    client: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    frames: list[int] = []
    waiting_command = asyncio.Event()

    async def handle(message: dict[str, Any]) -> None:
        if message["type"] == "websocket.disconnect":
            raise StopConsumer
        if message["type"] == "websocket.receive":
            # A command after a subscribe waits for it, so the loop reads nothing meanwhile.
            waiting_command.set()
            await inbox.settle()
        else:
            frames.append(message["n"])

    subscribed = asyncio.Event()

    async def subscribe() -> None:
        await subscribed.wait()

    inbox.beside(subscribe())
    loop = asyncio.ensure_future(inbox.run(client.get, handle))
    queue.put_nowait((0.0, {"type": "stream.frame", "n": 1}))  # held: the subscribe runs
    await asyncio.sleep(0)
    await client.put({"type": "websocket.receive", "text": "{}"})
    await asyncio.wait_for(waiting_command.wait(), 2)
    for n in (2, 3, 4):  # the queue fills while the command waits
        queue.put_nowait((0.0, {"type": "stream.frame", "n": n}))
    subscribed.set()
    for _ in range(20):
        await asyncio.sleep(0)
    await client.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.wait_for(loop, 2)
    assert frames == [1, 2, 3, 4]
