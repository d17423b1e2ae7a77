"""Fan-out through Redis keeps working when Redis restarts or hangs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers
from django.conf import settings as django_settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.settings import channel_layers_for
from tests.processes import RedisServer

BOUND = django_settings.REDIS_CONNECTION_OPTIONS["socket_timeout"] + 2


@pytest.fixture
def own_redis(tmp_path: Path, settings: Any) -> Iterator[RedisServer]:
    """A redis-server of this test alone, since the test kills it; the layer points at it."""
    with RedisServer(tmp_path) as server:
        settings.CHANNEL_LAYERS = channel_layers_for(server.url)
        yield server


def new_layer() -> Any:
    """Return a layer of its own (a process's), configured as the settings configure it."""
    return channel_layers.make_backend("default")


class Inbox:
    """Receive a channel's messages in the background, as a consumer does.

    A receive() that is cancelled unsubscribes its channel, so the waiting is done
    on this inbox, never on receive() itself.
    """

    def __init__(self, layer: Any, channel: str):
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(self.pump(layer, channel))

    async def pump(self, layer: Any, channel: str) -> None:
        while True:
            await self.messages.put(await layer.receive(channel))

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def send_until_received(sender: Any, inbox: Inbox, within: float, group: str = "g") -> float:
    """Publish to the group until the inbox gets a message; return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        with contextlib.suppress(Exception):
            await sender.group_send(group, {"type": "probe"})
            await asyncio.wait_for(inbox.messages.get(), 0.5)
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"nothing arrived through Redis within {within} s")


@pytest.fixture
async def subscribed(own_redis: RedisServer) -> AsyncIterator[tuple[Any, Inbox]]:
    """Return a worker's layer and the inbox of a web process's channel in group "g".

    Messages already flow from one to the other when the test begins.
    """
    web, worker = new_layer(), new_layer()
    channel = await web.new_channel()
    await web.group_add("g", channel)
    inbox = Inbox(web, channel)
    await send_until_received(worker, inbox, within=5)
    yield worker, inbox
    await inbox.close()
    await web.flush()
    await worker.flush()


async def test_subscriptions_come_back_after_every_redis_restart(
    own_redis: RedisServer, subscribed: tuple[Any, Inbox]
) -> None:
    worker, inbox = subscribed
    for _ in range(4):
        own_redis.kill()
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(worker.group_send("g", {"type": "lost"}), BOUND)
        await asyncio.sleep(0.3)
        own_redis.start()
        await send_until_received(worker, inbox, within=10)


async def test_a_hung_redis_gives_an_error_within_the_timeout(
    own_redis: RedisServer, subscribed: tuple[Any, Inbox]
) -> None:
    worker, inbox = subscribed
    own_redis.pause()
    # redis-py's own timeout must answer, well before the test's guard gives up.
    with pytest.raises(RedisTimeoutError):
        await asyncio.wait_for(worker.group_send("g", {"type": "stuck"}), BOUND)
    own_redis.resume()
    await send_until_received(worker, inbox, within=10)


async def test_groups_joined_together_after_a_restart_all_hear_their_messages(
    own_redis: RedisServer, subscribed: tuple[Any, Inbox]
) -> None:
    # A web process whose connection is from before the restart: the first join
    # finds it dead while the others wait their turn; none may be forgotten.
    worker, _ = subscribed
    web = new_layer()
    first = await web.new_channel()
    await web.group_add("first", first)
    await send_until_received(worker, Inbox(web, first), within=5, group="first")
    own_redis.kill()
    await asyncio.sleep(0.3)
    own_redis.start()
    channels = [await web.new_channel() for _ in range(6)]
    await asyncio.gather(
        *(web.group_add(f"g{n}", channel) for n, channel in enumerate(channels)),
        return_exceptions=True,
    )
    inboxes = [Inbox(web, channel) for channel in channels]
    for n, inbox in enumerate(inboxes):
        await send_until_received(worker, inbox, within=10, group=f"g{n}")
    for inbox in inboxes:
        await inbox.close()
    await web.flush()
