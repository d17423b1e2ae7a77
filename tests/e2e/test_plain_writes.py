"""`manage.py serve` with direct writes off: every frame through ASGI `send`, none lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from tests.e2e.servers import ServerProcess, e2e_database, served
from tests.e2e.test_server import assert_contiguous, collect_seqs, next_of
from tests.processes import server_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp_path = tmp_path_factory.mktemp("plain-writes")
    database_url, pg_name = e2e_database(tmp_path)
    env = server_env(database_url, PULSEBOARD_DEMO="1", PULSEBOARD_DIRECT_WRITES="0")
    yield from served(ServerProcess(env, log_path=tmp_path / "server.log"), pg_name)


async def test_with_direct_writes_off_every_socket_gets_the_sine_whole(
    plain_server: ServerProcess,
) -> None:
    token = plain_server.token()
    url = f"{plain_server.ws_url}/ws/live/?token={token}"
    async with connect(url) as first, connect(url) as second, connect(url) as third:
        sockets = (first, second, third)
        for ws in sockets:
            await next_of(ws, "hello")
            await ws.send(json.dumps({"type": "subscribe", "stream": "sine.1khz"}))
            await next_of(ws, "subscribed")
        runs = await asyncio.gather(
            *(collect_seqs(ws, "sine.1khz", 15.0, enough=1500) for ws in sockets)
        )
    for seqs in runs:
        assert_contiguous(seqs)
        assert len(seqs) >= 1500
    assert "PULSEBOARD_DIRECT_WRITES is off" in plain_server.log()
