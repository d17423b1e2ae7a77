"""Daphne serves Pulseboard: `daphne config.asgi:application`, the documented web process,
and `manage.py runserver`, the developer's, both with the producer inside on the
in-process layer."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from tests.e2e.servers import ServerProcess, e2e_database, served
from tests.processes import LOOPBACK, PYTHON, DaphneWebServer, server_env

pytestmark = pytest.mark.e2e

METRICS_SECRET = "scrape-secret-for-the-daphne-test"


class DaphneServer(DaphneWebServer, ServerProcess):
    """Daphne with the end-to-end tests' helpers (tokens, GETs)."""


class RunServer(ServerProcess):
    """`manage.py runserver`: Daphne's, as the first app in INSTALLED_APPS makes it."""

    def command(self) -> list[str]:
        return [PYTHON, "manage.py", "runserver", "--noreload", f"{LOOPBACK}:{self.port}"]


@pytest.fixture(scope="module")
def daphne(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServer]:
    tmp_path: Path = tmp_path_factory.mktemp("daphne")
    database_url, pg_name = e2e_database(tmp_path)
    env = server_env(database_url, PULSEBOARD_METRICS_TOKEN=METRICS_SECRET)
    server = DaphneServer(env, log_path=tmp_path / "daphne.log", producer=False)
    yield from served(server, pg_name)


def http(
    server: DaphneServer, path: str, *, headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, str]:
    request = urllib.request.Request(
        server.base_url + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def next_of(ws: Any, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """Return the next frame of type `kind`, skipping presence and the like."""
    while True:
        async with asyncio.timeout(timeout):
            frame = json.loads(await ws.recv())
        if frame["type"] == kind:
            return frame
        assert frame["type"] != "error", frame


def test_daphne_answers_healthz(daphne: DaphneServer) -> None:
    status, body = http(daphne, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok", "channel_layer": "ok"}


def test_daphne_serves_metrics_to_the_scraper_only(daphne: DaphneServer) -> None:
    assert http(daphne, "/metrics")[0] == 401
    status, body = http(daphne, "/metrics", headers={"Authorization": f"Bearer {METRICS_SECRET}"})
    assert status == 200 and "# TYPE pulseboard_connections gauge" in body


async def test_a_token_socket_gets_hello_subscribed_and_pushed_data(daphne: DaphneServer) -> None:
    token = daphne.token()
    async with connect(f"{daphne.ws_url}/ws/live/?token={token}") as ws:
        hello = await next_of(ws, "hello")
        assert hello["user"] and hello["limits"]
        await ws.send(json.dumps({"type": "subscribe", "stream": "push.demo"}))
        subscribed = await next_of(ws, "subscribed")
        assert subscribed["stream"] == "push.demo"
        status, body = await asyncio.to_thread(
            http,
            daphne,
            "/api/streams/push.demo/samples",
            headers={"Authorization": f"Token {token}"},
            body={"samples": [{"values": {"value": 41}}, {"values": {"value": 42}}]},
        )
        assert status == 201, body
        acknowledged = json.loads(body)
        data = await next_of(ws, "data")
        assert data["stream"] == "push.demo"
        assert [sample["seq"] for sample in data["samples"]] == [
            acknowledged["first"],
            acknowledged["last"],
        ]
        assert [sample["values"]["value"] for sample in data["samples"]] == [41, 42]


async def test_a_socket_from_another_site_is_refused(daphne: DaphneServer) -> None:
    token = daphne.token()
    # Another site, and another service of the same machine (same host, another port).
    for origin in ("http://evil.example", f"http://127.0.0.1:{daphne.port + 1}"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{daphne.ws_url}/ws/live/?token={token}", origin=Origin(origin)):
                pass
        assert refused.value.response.status_code == 403, origin
    async with connect(
        f"{daphne.ws_url}/ws/live/?token={token}", origin=Origin(daphne.base_url)
    ) as ws:
        assert (await next_of(ws, "hello"))["user"] == "demo"


async def first_data(server: ServerProcess, stream: str) -> dict[str, Any]:
    async with connect(f"{server.ws_url}/ws/live/?token={server.token()}") as ws:
        await next_of(ws, "hello")
        await ws.send(json.dumps({"type": "subscribe", "stream": stream}))
        await next_of(ws, "subscribed")
        return await next_of(ws, "data", timeout=20)


async def test_bare_daphne_runs_the_producer_on_the_in_process_layer(
    daphne: DaphneServer,
) -> None:
    data = await first_data(daphne, "sensors.lab-1")
    assert data["samples"] and "temperature" in data["samples"][0]["values"]


async def test_runserver_serves_sockets_with_live_data(tmp_path: Path) -> None:
    database_url, pg_name = e2e_database(tmp_path)
    server = RunServer(server_env(database_url), log_path=tmp_path / "runserver.log")
    for running in served(server, pg_name):
        data = await first_data(running, "sensors.lab-1")
        assert data["samples"][0]["seq"] >= 1
