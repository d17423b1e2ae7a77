"""History against a real server: resume at random moments, exports, replay, push."""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.request
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.e2e.servers import ServerProcess
from tests.e2e.test_server import collect_seqs, next_of

pytestmark = pytest.mark.e2e


def http_json(server: ServerProcess, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        server.base_url + path,
        data=data,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_reconnecting_at_random_moments_sees_exactly_the_stored_sequence(
    server: ServerProcess,
) -> None:
    token = server.token()
    rng = random.Random(2024)
    seen: list[int] = []
    since = None
    for _ in range(12):
        async with connect(f"{server.ws_url}/ws/live/?token={token}") as ws:
            command: dict[str, Any] = {"type": "subscribe", "stream": "sine.1khz"}
            if since is not None:
                command["since"] = since
            await ws.send(json.dumps(command))
            await next_of(ws, "subscribed")
            seen.extend(await collect_seqs(ws, "sine.1khz", rng.uniform(0.05, 0.4)))
        if seen:
            since = seen[-1]
        await asyncio.sleep(rng.uniform(0.0, 0.3))
    assert len(seen) == len(set(seen)), "a sample arrived twice"
    status, exported = await asyncio.to_thread(
        http_json,
        server,
        f"/api/streams/sine.1khz/export.json?from=0&to={int(time.time() * 1000) + 1000}",
        token,
    )
    assert status == 200
    stored = [s["seq"] for s in exported["samples"] if seen[0] <= s["seq"] <= seen[-1]]
    assert seen == stored


async def test_history_of_the_sine_is_bounded(server: ServerProcess) -> None:
    token = server.token()
    now = int(time.time() * 1000)
    status, body = await asyncio.to_thread(
        http_json,
        server,
        f"/api/streams/sine.1khz/history?from={now - 60_000}&to={now}&points=100",
        token,
    )
    assert status == 200 and 0 < len(body["t"]) <= 101
    assert all(
        low <= high
        for low, high in zip(
            body["fields"]["value"]["min"], body["fields"]["value"]["max"], strict=True
        )
    )


async def test_pushed_samples_reach_watchers_and_bad_batches_store_nothing(
    server: ServerProcess,
) -> None:
    token = server.token()
    async with connect(f"{server.ws_url}/ws/live/?token={token}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "push.demo"}))
        before = (await next_of(ws, "subscribed"))["seq"]
        bad = {"samples": [{"values": {"value": 1}}, {"values": {"value": "x" * 500}}]}
        status, body = await asyncio.to_thread(
            http_json, server, "/api/streams/push.demo/samples", token, bad
        )
        assert (
            status == 400
            and body["error"]["code"] == "invalid_field"
            and "samples[1]" in body["error"]["message"]
        )
        good = {"samples": [{"values": {"value": 1.5}}, {"values": {"value": 2.5}}]}
        status, body = await asyncio.to_thread(
            http_json, server, "/api/streams/push.demo/samples", token, good
        )
        assert status == 201 and body["first"] == before + 1 and body["last"] == before + 2
        data = await next_of(ws, "data")
        assert [s["seq"] for s in data["samples"]] == [before + 1, before + 2]
        await ws.send(
            json.dumps(
                {"type": "publish", "stream": "push.demo", "samples": [{"values": {"value": 3}}]}
            )
        )
        assert (await next_of(ws, "published"))["first"] == before + 3


def test_replay_command_plays_history_into_a_replay_stream(server: ServerProcess) -> None:
    output = server.manage(
        "replay", "sensors.lab-1", "--from", "10m", "--speed", "1000", "--into", "replay.lab"
    )
    assert "Replayed" in output
    token = server.token()
    status, body = http_json(
        server,
        f"/api/streams/replay.lab/export.json?from=0&to={int(time.time() * 1000) + 1000}",
        token,
    )
    assert status == 200 and len(body["samples"]) >= 1
