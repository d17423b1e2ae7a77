"""/ws/data/: the tutorial-style start/stop sensor feed."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from streams.live.compat import DataConsumer
from tests.streams.conftest import Connect, Live

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
