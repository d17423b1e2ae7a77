"""The product as a new user meets it: a real server with the producer, over the network."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from tests.e2e.servers import METRICS_TOKEN, Browserless, ServerProcess

pytestmark = pytest.mark.e2e

MALFORMED = [
    "{not json",
    "[1, 2, 3]",
    '"just a string"',
    "{}",
    '{"type": 42}',
    '{"type": "launch_missiles"}',
    '{"type": "subscribe"}',
    '{"type": "subscribe", "stream": 12}',
    '{"type": "subscribe", "stream": "no.such-stream"}',
    '{"type": "subscribe", "stream": "sine.1khz", "backfill": "lots"}',
    '{"type": "subscribe", "stream": "sine.1khz", "since": -5}',
    '{"type": "ping", "t": "yesterday"}',
    '{"type": "unsubscribe", "stream": "sensors.lab-1"}',
    '{"type": "start", "stream": "NOT A SLUG"}',
    '{"type": "stream.frame", "stream": "sine.1khz", "text": "{}", "first": 1, "last": 1}',
    "[" * 3000 + "]" * 3000,
    "x" * 70_000,
]


async def next_of(ws: ClientConnection, kind: str, wait_seconds: float = 5.0) -> dict[str, Any]:
    """Return the next message of `kind`, skipping others."""
    deadline = time.monotonic() + wait_seconds
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if message["type"] == kind:
            return message


async def collect_seqs(
    ws: ClientConnection, stream: str, seconds: float, *, enough: int | None = None
) -> list[int]:
    """Return the seqs that arrive within `seconds`, or as soon as there are `enough`."""
    seqs: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (enough is None or len(seqs) < enough):
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        except TimeoutError:
            break
        if message["type"] == "data" and message["stream"] == stream:
            seqs.extend(sample["seq"] for sample in message["samples"])
    return seqs


def assert_contiguous(seqs: list[int]) -> None:
    assert seqs, "no samples arrived"
    holes = [(a, b) for a, b in itertools.pairwise(seqs) if b != a + 1]
    assert not holes, f"seq is not contiguous: {holes[:5]}"


async def assert_the_sine_flows(ws: ClientConnection) -> None:
    """Assert that 1,500 samples of the 1 kHz sine arrive within 15 s, without a hole."""
    seqs = await collect_seqs(ws, "sine.1khz", 15.0, enough=1500)
    assert_contiguous(seqs)
    assert len(seqs) >= 1500


async def test_tutorial_client_starts_and_stops_the_sensor_feed(server: ServerProcess) -> None:
    token = server.token()
    async with connect(f"{server.ws_url}/ws/data/?token={token}") as ws:
        await ws.send(json.dumps({"action": "start_stream"}))
        readings: list[dict[str, Any]] = []
        while len(readings) < 2:
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if "temperature" in message:
                readings.append(message)
        for reading in readings:
            assert 18 <= reading["temperature"] <= 28
            assert 30 <= reading["humidity"] <= 80
            assert 1000 <= reading["pressure"] <= 1020
            assert reading["timestamp"]
        await ws.send(json.dumps({"action": "stop_stream"}))
        await ws.send("this is not json")
        replies = []
        with pytest.raises(TimeoutError):
            while True:
                replies.append(json.loads(await asyncio.wait_for(ws.recv(), 2.5)))
        assert {"error": "Invalid JSON format"} in replies
        after_stop = replies[replies.index({"status": "stopped"}) + 1 :]
        assert not any("temperature" in reply for reply in after_stop)


async def test_sine_stream_arrives_with_contiguous_seq(server: ServerProcess) -> None:
    token = server.token()
    async with connect(f"{server.ws_url}/ws/live/?token={token}") as ws:
        hello = await next_of(ws, "hello")
        assert hello["user"] == "demo" and "max_frame_bytes" in hello["limits"]
        await ws.send(json.dumps({"type": "subscribe", "stream": "sine.1khz", "backfill": 200}))
        subscribed = await next_of(ws, "subscribed")
        assert subscribed["running"] is True
        await assert_the_sine_flows(ws)


async def test_every_malformed_frame_gets_an_error_and_the_connection_lives(
    server: ServerProcess,
) -> None:
    token = server.token()
    async with connect(f"{server.ws_url}/ws/live/?token={token}", max_size=None) as ws:
        await next_of(ws, "hello")
        for frame in MALFORMED:
            await ws.send(frame)
            error = await next_of(ws, "error")
            assert error["code"] and error["message"], frame[:40]
        await ws.send(b"\x00\xff binary")
        assert (await next_of(ws, "error"))["code"] == "binary_not_supported"
        await ws.send(json.dumps({"type": "ping", "t": 123}))
        pong = await next_of(ws, "pong")
        assert pong["t"] == 123


async def refusal_status(url: str, **options: Any) -> int:
    """Return the HTTP status with which the server refuses to open a socket at `url`."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, **options):
            pass
    return refused.value.response.status_code


async def test_it_refuses_anonymous_and_cross_origin_sockets(
    server: ServerProcess, demo_session: Browserless
) -> None:
    # Other services of the same machine are other origins: port and scheme count.
    other_port = server.port + 1 if server.port < 65535 else server.port - 1
    foreign = (
        "http://evil.example",
        "http://127.0.0.1.evil.example",
        f"http://127.0.0.1:{other_port}",
        f"http://localhost:{server.port}",
        "http://localhost:1234",
        f"https://127.0.0.1:{server.port}",
    )
    for path in ("/ws/live/", "/ws/data/"):
        url = server.ws_url + path
        assert await refusal_status(url, origin=Origin(server.base_url)) == 403, path
        for origin in foreign:
            status = await refusal_status(
                url, origin=Origin(origin), additional_headers=demo_session.ws_headers()
            )
            assert status == 403, (path, origin)
        token_url = f"{url}?token={server.api_token}"
        assert await refusal_status(token_url, origin=Origin(foreign[2])) == 403, path
    assert await refusal_status(f"{server.ws_url}/ws/live/?token=not-a-token") == 403


async def test_a_logged_in_browser_session_may_watch(
    server: ServerProcess, demo_session: Browserless
) -> None:
    async with connect(
        f"{server.ws_url}/ws/live/",
        origin=Origin(server.base_url),
        additional_headers=demo_session.ws_headers(),
    ) as ws:
        assert (await next_of(ws, "hello"))["user"] == "demo"
        await ws.send(json.dumps({"type": "subscribe", "stream": "sensors.lab-1", "backfill": 5}))
        assert (await next_of(ws, "subscribed"))["stream"] == "sensors.lab-1"
    async with connect(
        f"{server.ws_url}/ws/data/",
        origin=Origin(server.base_url),
        additional_headers=demo_session.ws_headers(),
    ) as ws:
        await ws.send(json.dumps({"action": "stop_stream"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"status": "stopped"}


async def test_a_client_that_reconnects_with_since_sees_every_sample_once(
    server: ServerProcess,
) -> None:
    token = server.token()
    seen: list[int] = []
    since = None
    for _ in range(4):
        async with connect(f"{server.ws_url}/ws/live/?token={token}") as ws:
            command: dict[str, Any] = {"type": "subscribe", "stream": "sine.1khz"}
            if since is not None:
                command["since"] = since
            await ws.send(json.dumps(command))
            subscribed = await next_of(ws, "subscribed")
            if since is not None:
                assert subscribed["recovered"] is True
            seen.extend(await collect_seqs(ws, "sine.1khz", 0.6))
            since = seen[-1]
        await asyncio.sleep(0.3)  # the stream goes on while we are away
    assert_contiguous(seen)


async def test_owner_stops_and_starts_a_source_and_watchers_see_it(server: ServerProcess) -> None:
    token = server.token()
    async with (
        connect(f"{server.ws_url}/ws/live/?token={token}") as ws,
        connect(f"{server.ws_url}/ws/live/?token={token}") as watcher,
    ):
        for socket in (ws, watcher):
            await socket.send(json.dumps({"type": "subscribe", "stream": "price.BTC-USD"}))
            await next_of(socket, "subscribed")
        await ws.send(json.dumps({"type": "stop", "stream": "price.BTC-USD", "ref": "s1"}))
        status = {"type": "status", "stream": "price.BTC-USD", "running": False, "by": "demo"}
        assert await next_of(ws, "status") == status | {"ref": "s1"}
        assert await next_of(watcher, "status") == status
        # Frames already on their way may still land; then the stream must fall quiet.
        quiet = False
        for _ in range(8):
            if not await collect_seqs(watcher, "price.BTC-USD", 1.0):
                quiet = True
                break
        assert quiet, "the stream kept going after it was stopped"
        await ws.send(json.dumps({"type": "start", "stream": "price.BTC-USD"}))
        assert (await next_of(ws, "status"))["running"] is True
        seqs = await collect_seqs(ws, "price.BTC-USD", 15.0, enough=10)
    assert_contiguous(seqs)


def test_health_stats_metrics_and_admin_login_answer(server: ServerProcess) -> None:
    status, body = server.get("/healthz")
    assert status == 200 and json.loads(body) == {
        "status": "ok",
        "database": "ok",
        "channel_layer": "ok",
    }
    status, body = server.get("/api/stats", f"Token {server.api_token}")
    stats = json.loads(body)
    assert status == 200 and "connections" in stats
    sine = next(row for row in stats["streams"] if row["slug"] == "sine.1khz")
    assert sine["rate"] > 100
    status, body = server.get("/metrics", f"Bearer {METRICS_TOKEN}")
    assert status == 200 and "# TYPE pulseboard_samples_published_total counter" in body
    status, body = server.get("/admin/login/")
    assert status == 200 and "csrfmiddlewaretoken" in body


def test_token_lists_streams_over_http(server: ServerProcess) -> None:
    request = urllib.request.Request(
        server.base_url + "/api/streams/", headers={"Authorization": f"Token {server.token()}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        slugs = {stream["slug"] for stream in json.loads(response.read())["streams"]}
    assert {"sine.1khz", "sensors.lab-1", "system.host", "price.BTC-USD"} <= slugs


async def test_a_client_that_reads_nothing_does_not_stop_others(server: ServerProcess) -> None:
    token = server.token()
    async with connect(f"{server.ws_url}/ws/live/?token={token}") as sleeper:
        await sleeper.send(json.dumps({"type": "subscribe", "stream": "sine.1khz"}))
        async with connect(f"{server.ws_url}/ws/live/?token={token}") as reader:
            await reader.send(json.dumps({"type": "subscribe", "stream": "sine.1khz"}))
            await next_of(reader, "subscribed")
            await assert_the_sine_flows(reader)


async def test_the_connection_survives_its_own_unknown_stream_subscription(
    server: ServerProcess,
) -> None:
    token = server.token()
    async with connect(f"{server.ws_url}/ws/live/?token={token}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "nobody.home", "ref": "r1"}))
        error = await next_of(ws, "error")
        assert error["code"] == "unknown_stream" and error["ref"] == "r1"
        await ws.send(json.dumps({"type": "ping", "t": 1}))
        await next_of(ws, "pong")
    with pytest.raises(ConnectionClosed):
        await ws.recv()
