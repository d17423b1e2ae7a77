"""/ws/data/: the tutorial-style start/stop sensor feed."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client
from redis import Redis

from config.asgi import application
from streams.live.census import PREFIX, census_reset
from streams.live.compat import DataConsumer
from streams.live.protocol import CLOSE_SESSION_ENDED, CLOSE_TOO_MANY_CONNECTIONS
from streams.messages import user_group
from streams.models import ApiToken
from tests.streams.live_client import Live
from tests.support.sockets import Connect
from tests.support.web import HOST, ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ws/data/"


@pytest.fixture(autouse=True)
def no_sockets_left_over() -> None:
    """A socket an earlier test left half-open must not count against this one's limits."""
    DataConsumer.connections.clear()
    DataConsumer.feeds.clear()


async def frames_for(live: Live, seconds: float) -> list[dict[str, Any]]:
    """Return every frame that arrives within `seconds`."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frames.append(await live.receive(timeout=left))
        except TimeoutError:
            break
    return frames


def assert_reading(frame: dict[str, Any]) -> None:
    assert set(frame) == {"temperature", "humidity", "pressure", "timestamp"}
    assert 18 <= frame["temperature"] <= 28
    assert 30 <= frame["humidity"] <= 80
    assert 1000 <= frame["pressure"] <= 1020
    stamp = datetime.fromisoformat(frame["timestamp"])
    assert stamp.utcoffset() == timedelta(0), "UTC"
    assert abs(stamp.timestamp() - time.time()) < 5


async def test_start_stream_sends_sensor_readings(connect: Connect, owner: Any) -> None:
    alice = await connect(owner, path=PATH)
    await alice.send({"action": "start_stream"})
    await alice.send({"action": "start_stream"})  # a second start adds no second feed
    frames: list[dict[str, Any]] = []
    while len([frame for frame in frames if "status" not in frame]) < 2:
        frames.append(await alice.receive(timeout=3))
    assert frames.count({"status": "started"}) == 2
    readings = [frame for frame in frames if "status" not in frame]
    for reading in readings:
        assert_reading(reading)
    first, second = (datetime.fromisoformat(r["timestamp"]) for r in readings)
    assert 0.45 <= (second - first).total_seconds() <= 2.5


async def test_stop_stream_stops_the_readings(connect: Connect, owner: Any) -> None:
    alice = await connect(owner, path=PATH)
    await alice.send({"action": "start_stream"})
    frames = [await alice.receive(), await alice.receive()]
    assert {"status": "started"} in frames
    await alice.send({"action": "stop_stream"})
    assert await alice.receive() == {"status": "stopped"}
    assert await frames_for(alice, 1.3) == []


async def test_stop_without_start_is_harmless(connect: Connect, owner: Any) -> None:
    alice = await connect(owner, path=PATH)
    await alice.send({"action": "stop_stream"})
    assert await alice.receive() == {"status": "stopped"}


@pytest.mark.parametrize("text", ["not json", "{'action': 'start_stream'}", '{"action": ', " "])
async def test_invalid_json_gets_the_tutorial_error(
    connect: Connect, owner: Any, text: str
) -> None:
    alice = await connect(owner, path=PATH)
    await alice.send_text(text)
    assert await alice.receive() == {"error": "Invalid JSON format"}
    await alice.send({"action": "stop_stream"})
    assert await alice.receive() == {"status": "stopped"}


async def test_deeply_nested_json_gets_the_tutorial_error(connect: Connect, owner: Any) -> None:
    alice = await connect(owner, path=PATH)
    await alice.send_text("[" * 50_000)
    assert await alice.receive(timeout=0.5) == {"error": "Invalid JSON format"}


@pytest.mark.parametrize(
    "message",
    [{"action": "dance"}, {"type": "subscribe"}, [1, 2], "start_stream", {"action": None}],
)
async def test_an_unknown_action_is_named(connect: Connect, owner: Any, message: Any) -> None:
    alice = await connect(owner, path=PATH)
    await alice.send(message)
    reply = await alice.receive()
    assert set(reply) == {"error"}
    assert "start_stream" in reply["error"] and "stop_stream" in reply["error"]


async def test_it_refuses_anonymous_visitors(connect: Connect) -> None:
    anonymous = await connect(None, path=PATH)
    assert not anonymous.connected


async def test_it_refuses_a_foreign_origin(connect: Connect, owner: Any) -> None:
    page = await connect(owner, path=PATH, origin=(b"origin", b"http://evil.example"))
    assert not page.connected


async def test_it_accepts_a_token(connect: Connect, owner_token: str) -> None:
    script = await connect(token=owner_token, origin=None, path=PATH)
    assert script.connected
    await script.send({"action": "start_stream"})
    frames = [await script.receive(), await script.receive()]
    assert {"status": "started"} in frames
    assert_reading(next(frame for frame in frames if "status" not in frame))


async def test_it_refuses_a_bad_token(connect: Connect) -> None:
    script = await connect(token="pb_wrong", origin=None, path=PATH)
    assert not script.connected


async def test_it_limits_the_message_rate(connect: Connect, owner: Any, settings: Any) -> None:
    settings.PULSEBOARD_COMMANDS_PER_SECOND = 0.1
    settings.PULSEBOARD_COMMAND_BURST = 2
    alice = await connect(owner, path=PATH)
    for _ in range(5):
        await alice.send({"action": "stop_stream"})
    frames = await frames_for(alice, 0.3)
    assert frames == [
        {"status": "stopped"},
        {"status": "stopped"},
        {"error": "Too many messages", "code": "rate_limited"},
    ]


# -- the tutorial's limits ------------------------------------------------------------


async def test_readings_come_every_half_to_two_seconds(connect: Connect, owner: Any) -> None:
    alice = await connect(owner, path=PATH)
    await alice.send({"action": "start_stream"})
    readings = [f for f in await frames_for(alice, 7) if "temperature" in f]
    stamps = [datetime.fromisoformat(r["timestamp"]).timestamp() for r in readings]
    gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
    assert len(gaps) >= 3
    assert all(0.45 <= gap <= 2.2 for gap in gaps), gaps
    assert max(gaps) - min(gaps) > 0.05, "the interval varies like the tutorial's sensor"


async def test_past_max_connections_it_says_so_and_closes(
    connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_DATA_MAX_CONNECTIONS = 2
    first, second = await connect(owner, path=PATH), await connect(owner, path=PATH)
    third = await connect(owner, path=PATH)
    assert await third.receive() == {"error": "Maximum connections reached (2); try again later"}
    assert (await third.communicator.receive_output(timeout=2))["code"] == 1013
    await first.send({"action": "start_stream"})
    assert await first.receive() == {"status": "started"}
    await second.communicator.disconnect()
    fourth = await connect(owner, path=PATH)
    await fourth.send({"action": "stop_stream"})
    assert await fourth.receive() == {"status": "stopped"}


async def test_past_max_streams_a_start_is_refused_until_one_stops(
    connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_DATA_MAX_STREAMS = 1
    alice, bob = await connect(owner, path=PATH), await connect(owner, path=PATH)
    await alice.send({"action": "start_stream"})
    assert await alice.receive() == {"status": "started"}
    await bob.send({"action": "start_stream"})
    assert await bob.receive() == {"error": "Maximum concurrent streams reached (1)"}
    await alice.send({"action": "stop_stream"})
    while "status" not in (frame := await alice.receive()):
        pass
    assert frame == {"status": "stopped"}
    await bob.send({"action": "start_stream"})
    assert await bob.receive() == {"status": "started"}


async def test_an_idle_connection_is_told_and_closed(
    connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_DATA_IDLE_TIMEOUT = 0.5
    alice = await connect(owner, path=PATH)
    assert await alice.receive(timeout=3) == {"error": "Idle timeout: no message for 0.5 seconds"}
    assert (await alice.communicator.receive_output(timeout=2))["code"] == 4008


# -- the user's sockets, like /ws/live/'s ---------------------------------------------


async def data_socket(browser: Client) -> Live:
    """Open /ws/data/ from the page of `browser` and start its feed."""
    cookie = (b"cookie", f"sessionid={browser.cookies['sessionid'].value}".encode())
    live = Live(WebsocketCommunicator(application, PATH, headers=[HOST, ORIGIN, cookie]))
    live.connected, _ = await live.communicator.connect(timeout=3)
    assert live.connected
    await live.send({"action": "start_stream"})
    assert await live.receive() == {"status": "started"}
    return live


async def logged_in_browser(user: Any) -> Client:
    browser = Client()
    await database_sync_to_async(browser.force_login)(user)
    return browser


async def ends_with(live: Live, code: int, within: float) -> None:
    """The server closes the socket with `code` within `within` seconds, then sends nothing."""
    started = time.monotonic()
    assert await live.closed_with(timeout=within) == code
    assert time.monotonic() - started < within
    assert await live.communicator.receive_nothing(timeout=1.3), "a reading after the close"


async def still_streams(live: Live) -> None:
    assert_reading(await live.receive(timeout=3))


async def test_logout_closes_that_sessions_socket_within_a_second(owner: Any) -> None:
    laptop, phone = await logged_in_browser(owner), await logged_in_browser(owner)
    laptop_socket, phone_socket = await data_socket(laptop), await data_socket(phone)
    try:
        await database_sync_to_async(laptop.post)("/accounts/logout/")
        await ends_with(laptop_socket, CLOSE_SESSION_ENDED, within=1.0)
        # A start sent before the client saw the close starts nothing.
        await laptop_socket.send({"action": "start_stream"})
        assert await laptop_socket.communicator.receive_nothing(timeout=1.3)
        await still_streams(phone_socket)  # another session of the same user
    finally:
        await laptop_socket.disconnect()
        await phone_socket.disconnect()


@pytest.mark.parametrize("change", ["deactivate", "new_password"])
async def test_deactivation_or_a_new_password_closes_every_socket_of_the_user(
    owner: Any, outsider: Any, owner_token: str, connect: Connect, change: str
) -> None:
    page = await data_socket(await logged_in_browser(owner))
    script = await connect(token=owner_token, origin=None, path=PATH)
    mallory = await data_socket(await logged_in_browser(outsider))

    def apply() -> None:
        if change == "deactivate":
            owner.is_active = False
        else:
            owner.set_password("a whole new password")
        owner.save()

    try:
        await database_sync_to_async(apply)()
        await ends_with(page, CLOSE_SESSION_ENDED, within=1.0)
        assert await script.closed_with(timeout=1.0) == CLOSE_SESSION_ENDED
        await still_streams(mallory)
    finally:
        await page.disconnect()
        await mallory.disconnect()


async def test_deleting_its_token_closes_the_sockets_it_opened(
    owner: Any, connect: Connect
) -> None:
    doomed, kept = await database_sync_to_async(
        lambda: (ApiToken.objects.issue(user=owner), ApiToken.objects.issue(user=owner))
    )()
    doomed_script = await connect(token=doomed[1], origin=None, path=PATH)
    kept_script = await connect(token=kept[1], origin=None, path=PATH)
    for script in (doomed_script, kept_script):
        await script.send({"action": "start_stream"})
        assert await script.receive() == {"status": "started"}
    await database_sync_to_async(doomed[0].delete)()
    await ends_with(doomed_script, CLOSE_SESSION_ENDED, within=1.0)
    await still_streams(kept_script)


async def test_news_for_live_pages_leaves_the_feed_alone(owner: Any, connect: Connect) -> None:
    """The user's group also carries alerts and access changes; this endpoint ignores them."""
    alice = await connect(owner, path=PATH)
    layer = get_channel_layer()
    await layer.group_send(user_group(owner.pk), {"type": "user.alert", "frame": {}})
    await layer.group_send(user_group(owner.pk), {"type": "access.changed"})
    await alice.send({"action": "stop_stream"})
    assert await alice.receive() == {"status": "stopped"}
    assert await alice.communicator.receive_nothing(timeout=0.3)


async def test_its_sockets_count_in_the_per_user_limit_with_live_ones(
    connect: Connect, owner: Any, outsider: Any, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER = 3
    await connect(owner), await connect(owner)
    data = await connect(owner, path=PATH)
    refused = await connect(owner, path=PATH)
    assert await refused.receive() == {
        "error": "At most 3 connections per user",
        "code": "too_many",
    }
    assert await refused.closed_with() == CLOSE_TOO_MANY_CONNECTIONS
    refused_live = await connect(owner, hello=False)
    assert (await refused_live.receive())["code"] == "too_many"
    assert await refused_live.closed_with() == CLOSE_TOO_MANY_CONNECTIONS
    # Another user still gets sockets of both kinds.
    bob = await connect(outsider, path=PATH)
    await bob.send({"action": "stop_stream"})
    assert await bob.receive() == {"status": "stopped"}
    assert (await connect(outsider)).hello["user"] == "mallory"
    # A closed /ws/data/ socket frees its place.
    await data.disconnect()
    again = await connect(owner, path=PATH)
    await again.send({"action": "stop_stream"})
    assert await again.receive() == {"status": "stopped"}


async def test_one_user_cannot_take_every_place_of_the_process(
    connect: Connect, owner: Any, outsider: Any, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER = 2
    settings.PULSEBOARD_DATA_MAX_CONNECTIONS = 3
    for _ in range(2):
        assert (await connect(owner, path=PATH)).connected
    greedy = await connect(owner, path=PATH)
    assert (await greedy.receive())["code"] == "too_many"
    assert await greedy.closed_with() == CLOSE_TOO_MANY_CONNECTIONS
    bob = await connect(outsider, path=PATH)
    await bob.send({"action": "stop_stream"})
    assert await bob.receive() == {"status": "stopped"}


@pytest.fixture
def cluster(redis_layer: str, settings: Any) -> Iterator[Redis]:
    """This process as one of a cluster: the Redis layer, and counts shared in Redis."""
    settings.REDIS_URL = redis_layer
    census_reset()
    redis = Redis.from_url(redis_layer)
    redis.flushall()
    yield redis
    census_reset()


async def test_in_a_cluster_other_processes_sockets_count_and_logout_reaches_it(
    cluster: Redis, connect: Connect, owner: Any, settings: Any
) -> None:
    settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER = 3
    # Another web process holds two of alice's sockets.
    cluster.zadd(f"{PREFIX}alive", {"other-host:4242": time.time() + 15})
    cluster.hset(f"{PREFIX}viewer:user:{owner.pk}", "other-host:4242", 2)
    browser = await logged_in_browser(owner)
    page = await data_socket(browser)
    refused = await connect(owner, path=PATH)
    assert (await refused.receive())["code"] == "too_many"
    assert await refused.closed_with() == CLOSE_TOO_MANY_CONNECTIONS
    try:
        await database_sync_to_async(browser.post)("/accounts/logout/")
        await ends_with(page, CLOSE_SESSION_ENDED, within=1.0)
    finally:
        await page.disconnect()
