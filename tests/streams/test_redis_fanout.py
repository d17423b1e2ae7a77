"""The cluster's Redis layer inside one web process: decode once, bounded queues, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from config.asgi import application
from config.settings import channel_layers_for
from streams.metrics import metric_value
from tests.processes import RedisServer
from tests.support.web import HOST, ORIGIN, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def own_redis(tmp_path: Path, settings: Any) -> AsyncIterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        settings.CHANNEL_LAYERS = channel_layers_for(server.url)
        channel_layers.backends.clear()
        yield server
        await layers_closed()


LAYERS: list[Any] = []


def new_layer() -> Any:
    """Return a layer of its own (a process's), closed when the test ends."""
    layer = channel_layers.make_backend("default")
    LAYERS.append(layer)
    return layer


async def layers_closed() -> None:
    """Close the test's layers and the default one: their listeners must not outlive its Redis."""
    for layer in [*LAYERS, *channel_layers.backends.values()]:
        await layer.flush()
    LAYERS.clear()
    channel_layers.backends.clear()


async def wait_for(condition: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_group_message_is_decoded_once_for_every_member(own_redis: RedisServer) -> None:
    web, worker = new_layer(), new_layer()
    members = [await web.new_channel() for _ in range(3)]
    queues = [web.attach(channel) for channel in members]
    for channel in members:
        await web.group_add("g", channel)
    await asyncio.sleep(0.2)  # the subscription reaches Redis
    await worker.group_send("g", {"type": "probe", "n": 1})
    await wait_for(lambda: all(queue.qsize() for queue in queues))
    received = [queue.get_nowait()[1] for queue in queues]
    assert received[0] == {"type": "probe", "n": 1}
    assert all(message is received[0] for message in received)


async def test_a_member_that_does_not_read_drops_past_its_bound(own_redis: RedisServer) -> None:
    web, worker = new_layer(), new_layer()
    capacity = web.capacity
    slow = await web.new_channel()
    queue = web.attach(slow)
    await web.group_add("g", slow)
    await asyncio.sleep(0.2)
    before = metric_value("pulseboard_frames_dropped_total")
    for n in range(capacity + 50):
        await worker.group_send("g", {"type": "probe", "n": n})
    await wait_for(lambda: metric_value("pulseboard_frames_dropped_total") >= before + 50)
    assert queue.qsize() == capacity
    assert queue.get_nowait()[1]["n"] == 0  # the oldest are kept; the client refills the rest


async def test_a_socket_opened_while_redis_is_away_is_told_to_come_back(
    own_redis: RedisServer, owner: Any
) -> None:
    cookie = await database_sync_to_async(session_cookie)(owner)
    own_redis.stop()
    live = WebsocketCommunicator(application, "/ws/live/", headers=[HOST, ORIGIN, cookie])
    connected, _ = await live.connect(timeout=10)
    assert connected
    closed = await live.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": 1013}
