"""The Redis layer: one PUBLISH per message, its wire format, and Redis restarting or hanging."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from channels.layers import channel_layers
from django.conf import settings as django_settings
from redis import Redis as SyncRedis
from redis.asyncio import Redis
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
        self.layer = layer
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


# -- what a message costs Redis, and what it looks like there ------------------------


@pytest.fixture
async def redis(own_redis: RedisServer) -> AsyncIterator[Redis]:
    """A plain client of the test's Redis, to look at what the layers do there."""
    client = Redis.from_url(own_redis.url)
    yield client
    await client.aclose()


async def subscribers(redis: Redis, topic: str) -> int:
    return int(dict(await redis.pubsub_numsub(topic))[topic.encode()])


async def publishes(redis: Redis) -> int:
    return int((await redis.info("commandstats")).get("cmdstat_publish", {}).get("calls", 0))


async def test_a_group_message_is_one_publish_whatever_the_number_of_viewers(
    redis: Redis,
) -> None:
    webs, worker = [new_layer(), new_layer()], new_layer()
    inboxes = []
    for web in webs:
        for _ in range(100):
            channel = await web.new_channel()
            await web.group_add("stream.lab", channel)
            inboxes.append(web.attach(channel))
    # One subscription per process, not per viewer.
    assert await subscribers(redis, "asgi__group__stream.lab") == 2
    before = await publishes(redis)
    await worker.group_send("stream.lab", {"type": "stream.frame", "n": 1})
    assert await publishes(redis) == before + 1
    for inbox in inboxes:
        assert (await asyncio.wait_for(inbox.get(), 5))[1] == {"type": "stream.frame", "n": 1}
    for layer in [*webs, worker]:
        await layer.flush()


async def test_a_group_left_by_its_last_viewer_is_no_longer_heard(redis: Redis) -> None:
    web = new_layer()
    first, second = await web.new_channel(), await web.new_channel()
    for channel in (first, second):
        await web.group_add("stream.lab", channel)
    await web.group_discard("stream.lab", first)
    assert await subscribers(redis, "asgi__group__stream.lab") == 1
    await web.group_discard("stream.lab", second)
    await wait_until(lambda: subscribers(redis, "asgi__group__stream.lab"), 0)
    await web.detach(first)
    await wait_until(lambda: subscribers(redis, first), 0)
    assert await subscribers(redis, second) == 1
    await web.flush()


async def wait_until(value: Any, expected: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while (got := await value()) != expected:
        assert time.monotonic() < deadline, f"still {got!r}, not {expected!r}"
        await asyncio.sleep(0.05)


async def test_the_wire_format_is_msgpack_on_channels_redis_names(redis: Redis) -> None:
    # Processes of the previous release (channels_redis' pub/sub layer) hear and are heard.
    web = new_layer()
    channel = await web.new_channel()
    await web.group_add("stream.lab", channel)
    inbox = Inbox(web, channel)
    await redis.publish("asgi__group__stream.lab", msgpack.packb({"type": "from.old", "n": 1}))
    assert await asyncio.wait_for(inbox.messages.get(), 5) == {"type": "from.old", "n": 1}
    async with redis.pubsub() as watcher:
        await watcher.subscribe("asgi__group__stream.lab")
        await web.group_send("stream.lab", {"type": "to.old", "text": "é"})
        message = None
        while message is None:
            message = await watcher.get_message(ignore_subscribe_messages=True, timeout=5)
        assert msgpack.unpackb(message["data"]) == {"type": "to.old", "text": "é"}
    await inbox.close()
    await web.flush()


async def test_a_message_that_cannot_be_read_is_skipped_and_the_next_one_heard(
    redis: Redis,
) -> None:
    web = new_layer()
    channel = await web.new_channel()
    await web.group_add("g", channel)
    inbox = Inbox(web, channel)
    await redis.publish("asgi__group__g", b"\xc1 not msgpack")
    await redis.publish("asgi__group__g", msgpack.packb({"type": "next"}))
    assert await asyncio.wait_for(inbox.messages.get(), 5) == {"type": "next"}
    await inbox.close()
    await web.flush()


def test_a_process_whose_event_loop_ends_leaves_no_connection_behind(
    own_redis: RedisServer,
) -> None:
    # Sync code (a view, a signal) sends through a short-lived event loop each time.
    layer = new_layer()

    async def listen_and_send() -> None:
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        await layer.group_send("g", {"type": "x"})
        assert await layer.receive(channel) == {"type": "x"}

    def clients() -> int:
        return len(SyncRedis.from_url(own_redis.url).client_list()) - 1  # less the asker

    for _ in range(3):
        asyncio.run(listen_and_send())
    assert clients() == 0
    assert len(layer.loops) == 0


async def test_a_pubsub_connection_redis_closes_is_replaced_and_everything_heard_again(
    subscribed: tuple[Any, Inbox], redis: Redis
) -> None:
    # Redis closes a pub/sub client that falls behind (client-output-buffer-limit).
    worker, inbox = subscribed
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    await send_until_received(worker, inbox, within=10)


async def test_a_connection_let_go_midway_is_replaced_without_waiting_for_a_new_join(
    subscribed: tuple[Any, Inbox],
) -> None:
    # A subscribe cancelled halfway (its socket closed) lets go of the connection.
    worker, inbox = subscribed
    web = inbox.layer
    broker = web.parts().broker
    broker.drop(broker.pubsub)
    await send_until_received(worker, inbox, within=10)
