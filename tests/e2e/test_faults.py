"""Faults against a real server: a client that never reads, a locked database, churn."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time

import pytest
from websockets.asyncio.client import connect

from tests.e2e.servers import ServerProcess
from tests.e2e.test_history import http_json
from tests.e2e.test_server import assert_contiguous, collect_seqs, next_of

pytestmark = pytest.mark.e2e


def live_connections(server: ServerProcess) -> int:
    status, body = server.get("/api/stats", f"Token {server.api_token}")
    assert status == 200, body
    return int(json.loads(body)["connections"])


async def test_a_client_that_never_reads_is_dropped_and_others_carry_on(
    server: ServerProcess,
) -> None:
    token = server.token()
    url = f"{server.ws_url}/ws/live/?token={token}"
    before = await asyncio.to_thread(live_connections, server)
    # max_queue=1: the client stops reading its socket as soon as one frame waits.
    async with connect(url, max_queue=1) as sleeper, connect(url) as reader:
        await sleeper.send(json.dumps({"type": "subscribe", "stream": "sine.1khz"}))
        await reader.send(json.dumps({"type": "subscribe", "stream": "sine.1khz"}))
        await next_of(reader, "subscribed")
        assert await asyncio.to_thread(live_connections, server) == before + 2
        seqs: list[int] = []
        deadline = time.monotonic() + 20
        while await asyncio.to_thread(live_connections, server) > before + 1:
            assert time.monotonic() < deadline, "the server kept a client that never reads"
            seqs += await collect_seqs(reader, "sine.1khz", 0.5)
        seqs += await collect_seqs(reader, "sine.1khz", 1.0)
    assert_contiguous(seqs)


def hold_write_lock(database_url: str, seconds: float, held: threading.Event) -> None:
    """Keep the database's sample table locked against writers for `seconds`."""
    if database_url.startswith("sqlite:///"):
        locker = sqlite3.connect(
            database_url.removeprefix("sqlite:///"), timeout=10, isolation_level=None
        )
        locker.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        locker.execute("ROLLBACK")
        locker.close()
        return
    import psycopg

    with psycopg.connect(database_url) as pg, pg.transaction():
        pg.execute("LOCK TABLE streams_sample IN EXCLUSIVE MODE")
        held.set()
        time.sleep(seconds)


async def test_live_data_flows_while_the_database_is_locked_and_history_keeps_all(
    server: ServerProcess,
) -> None:
    token = server.token()
    async with connect(f"{server.ws_url}/ws/live/?token={token}") as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": "sine.1khz"}))
        await next_of(ws, "subscribed")
        held = threading.Event()
        locker = threading.Thread(
            target=hold_write_lock, args=(server.env["DATABASE_URL"], 5.0, held)
        )
        locker.start()
        await asyncio.to_thread(held.wait, 10)
        during = await collect_seqs(ws, "sine.1khz", 4.0, enough=300)
        still_locked = locker.is_alive()
        await asyncio.to_thread(locker.join)
        after = await collect_seqs(ws, "sine.1khz", 2.0)
    assert still_locked and len(during) >= 300, "live data stalled while the database was locked"
    seen = during + after
    assert_contiguous(seen)
    await asyncio.sleep(1.0)  # the retried write lands on the next ticks
    status, exported = await asyncio.to_thread(
        http_json,
        server,
        f"/api/streams/sine.1khz/export.json?from=0&to={int(time.time() * 1000) + 1000}",
        token,
    )
    assert status == 200
    stored = [s["seq"] for s in exported["samples"] if seen[0] <= s["seq"] <= seen[-1]]
    assert stored == seen, "history lost or doubled samples written during the lock"


async def test_connection_churn_leaves_steady_watchers_without_a_hole(
    server: ServerProcess,
) -> None:
    token = server.token()
    url = f"{server.ws_url}/ws/live/?token={token}"

    async def churn(rounds: int) -> None:
        for _ in range(rounds):
            async with connect(url) as ws:
                await ws.send(
                    json.dumps({"type": "subscribe", "stream": "sine.1khz", "backfill": 10})
                )
                await next_of(ws, "subscribed")

    before = await asyncio.to_thread(live_connections, server)
    async with connect(url) as steady:
        await steady.send(json.dumps({"type": "subscribe", "stream": "sine.1khz"}))
        await next_of(steady, "subscribed")
        churning = asyncio.gather(churn(100), churn(100))
        seqs: list[int] = []
        while not churning.done():
            seqs += await collect_seqs(steady, "sine.1khz", 0.5)
        await churning
        seqs += await collect_seqs(steady, "sine.1khz", 0.5)
    assert_contiguous(seqs)
    # Every one of those connections is forgotten again: nothing leaks per socket.
    deadline = time.monotonic() + 10
    while await asyncio.to_thread(live_connections, server) != before:
        assert time.monotonic() < deadline, "closed connections are still counted"
        await asyncio.sleep(0.2)
