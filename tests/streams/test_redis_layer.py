"""Fan-out through Redis keeps working when Redis restarts or hangs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.conftest import RedisServer

BOUND = settings.REDIS_CONNECTION_OPTIONS["socket_timeout"] + 2


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, since the test kills it."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.resume() if server.process else None
    server.stop()


def layer_for(server: RedisServer) -> Any:
    """Return the channel layer exactly as settings configure it for REDIS_URL."""
    return RedisPubSubChannelLayer(
        hosts=[{"address": server.url, **settings.REDIS_CONNECTION_OPTIONS}]
    )


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


async def send_until_received(sender: Any, inbox: Inbox, within: float) -> float:
    """Publish until the inbox gets a message; return how long it took."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        with contextlib.suppress(Exception):
            await sender.group_send("g", {"type": "probe"})
            await asyncio.wait_for(inbox.messages.get(), 0.5)
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"nothing arrived through Redis within {within} s")


async def test_subscriptions_come_back_after_every_redis_restart(own_redis: RedisServer) -> None:
    web, worker = layer_for(own_redis), layer_for(own_redis)
    channel = await web.new_channel()
    await web.group_add("g", channel)
    inbox = Inbox(web, channel)
    await send_until_received(worker, inbox, within=5)
    for _ in range(4):
        own_redis.stop()
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(worker.group_send("g", {"type": "lost"}), BOUND)
        await asyncio.sleep(0.3)
        own_redis.start()
        await send_until_received(worker, inbox, within=10)
    await inbox.close()
    await web.flush()
    await worker.flush()


async def test_a_hung_redis_gives_an_error_within_the_timeout(own_redis: RedisServer) -> None:
    web, worker = layer_for(own_redis), layer_for(own_redis)
    channel = await web.new_channel()
    await web.group_add("g", channel)
    inbox = Inbox(web, channel)
    await send_until_received(worker, inbox, within=5)
    own_redis.pause()
    # redis-py's own timeout must answer, well before the test's guard gives up.
    with pytest.raises(RedisTimeoutError):
        await asyncio.wait_for(worker.group_send("g", {"type": "stuck"}), BOUND)
    own_redis.resume()
    await send_until_received(worker, inbox, within=10)
    await inbox.close()
    await web.flush()
    await worker.flush()
