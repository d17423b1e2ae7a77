"""Several processes on one Redis: Daphne and uvicorn web processes, workers that die, a Redis that restarts."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.servers import drop_database, e2e_database
from tests.processes import (
    PYTHON,
    DaphneWebServer,
    RedisServer,
    WebServer,
    database_prepare,
    kill_process,
    run_manage,
    server_env,
    spawn,
)

pytestmark = pytest.mark.e2e

LEASE_SECONDS = 3


@dataclass
class Cluster:
    """Web processes and producer workers on one database and one Redis."""

    redis: RedisServer
    env: dict[str, str]
    log_dir: Path
    webs: dict[str, WebServer] = field(default_factory=dict)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def web(self, name: str, server: type[WebServer] = WebServer) -> WebServer:
        web = server(self.env, log_path=self.log_dir / f"{name}.log", producer=False)
        web.start()
        self.webs[name] = web
        return web

    def worker(self, name: str) -> None:
        self.workers[name] = spawn(
            [PYTHON, "manage.py", "produce"], env=self.env, log_path=self.log_dir / f"{name}.log"
        )

    def kill(self, name: str) -> None:
        if name in self.webs:
            self.webs.pop(name).kill()
        else:
            kill_process(self.workers.pop(name))

    def live_url(self, name: str) -> str:
        return f"{self.webs[name].ws_url}/ws/live/?token={self.token}"

    @cached_property
    def token(self) -> str:
        return run_manage(self.env, "createtoken", "demo").split()[-1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("cluster")
    database_url, pg_name = e2e_database(tmp)
    with RedisServer(tmp) as redis:
        env = server_env(
            database_url,
            redis_url=redis.url,
            PULSEBOARD_LEASE_SECONDS=str(LEASE_SECONDS),
            PULSEBOARD_RECONCILE_SECONDS="0.5",
            PULSEBOARD_MAX_CONNECTIONS_PER_USER="100",
        )
        # Only the streams these tests watch, so the workers stay light on a small machine.
        database_prepare(env, running=["sensors.lab-1", "price.BTC-USD", "push.demo"])
        cluster = Cluster(redis=redis, env=env, log_dir=tmp)
        try:
            cluster.web("web-1", DaphneWebServer)  # daphne config.asgi:application
            cluster.web("web-2")  # manage.py serve --no-producer (uvicorn)
            cluster.worker("worker-a")
            yield cluster
        finally:
            for name in [*cluster.webs, *cluster.workers]:
                cluster.kill(name)
    if pg_name:
        drop_database(pg_name)


class Watcher:
    """A client that keeps every seq it sees and reconnects with `since`, like live.js.

    It reconnects only when the connection fails (refused, reset, closed: a web
    process or Redis away), to the next of its addresses (`also`: other web
    processes) in turn. Anything else ends it, and the test fails with it: a
    frame that breaks the AsyncAPI document, an `error` frame, a frame out of turn.
    """

    def __init__(
        self, url: str, stream: str, since: int | None = None, *, also: tuple[str, ...] = ()
    ):
        self.url, self.stream, self.since = url, stream, since
        self.urls = (url, *also)
        self.seqs: list[int] = []
        self.task = asyncio.ensure_future(self.run())

    async def run(self) -> None:
        others = itertools.cycle(self.urls[1:] + self.urls[:1])
        while True:
            try:
                async with connect(self.url) as ws:
                    await self.follow(ws)
            except (ConnectionClosed, OSError):
                if len(self.urls) > 1:
                    self.url = next(others)
                await asyncio.sleep(0.3)

    def take(self, samples: list[dict[str, Any]]) -> None:
        """Keep the seqs of a data frame's samples."""
        self.seqs.extend(sample["seq"] for sample in samples)

    async def follow(self, ws: ClientConnection) -> None:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", f"the first frame is not hello: {hello}"
        command: dict[str, Any] = {"type": "subscribe", "stream": self.stream}
        if self.seqs or self.since is not None:
            command["since"] = self.seqs[-1] if self.seqs else self.since
        await ws.send(json.dumps(command))
        async for text in ws:
            message = json.loads(text)
            assert message["type"] != "error", f"the server refused: {message}"
            if message["type"] == "data":
                assert message["stream"] == self.stream, f"a frame of another stream: {message}"
                self.take(message["samples"])

    def failed(self) -> None:
        """Raise what ended the watcher, if anything did."""
        if self.task.done() and not self.task.cancelled():
            self.task.result()

    async def wait_for_more(self, count: int, within: float) -> None:
        target = len(self.seqs) + count
        deadline = time.monotonic() + within
        while len(self.seqs) < target:
            self.failed()
            assert time.monotonic() < deadline, f"only {len(self.seqs)} of {target} samples arrived"
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        self.failed()
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def assert_each_once(seqs: list[int]) -> None:
    assert seqs, "nothing arrived"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a hole or a repeat"


async def test_clients_on_both_web_processes_see_the_same_samples(cluster: Cluster) -> None:
    one = Watcher(cluster.live_url("web-1"), "price.BTC-USD")
    two = Watcher(cluster.live_url("web-2"), "price.BTC-USD")
    await one.wait_for_more(20, within=15)
    await two.wait_for_more(20, within=15)
    await one.stop()
    await two.stop()
    common = set(one.seqs) & set(two.seqs)
    assert len(common) >= 10
    assert_each_once(one.seqs)
    assert_each_once(two.seqs)


async def test_a_killed_worker_is_replaced_and_seq_goes_on(cluster: Cluster) -> None:
    watcher = Watcher(cluster.live_url("web-1"), "price.BTC-USD")
    await watcher.wait_for_more(10, within=15)
    cluster.kill("worker-a")
    cluster.worker("worker-b")
    await watcher.wait_for_more(30, within=LEASE_SECONDS + 20)
    await watcher.stop()
    assert_each_once(watcher.seqs)


async def test_the_stream_goes_on_without_a_hole_after_redis_restarts(cluster: Cluster) -> None:
    watcher = Watcher(cluster.live_url("web-2"), "price.BTC-USD")
    await watcher.wait_for_more(10, within=15)
    cluster.redis.kill()
    await asyncio.sleep(1.5)
    cluster.redis.start()
    await watcher.wait_for_more(30, within=25)
    await watcher.stop()
    assert_each_once(watcher.seqs)


def stats_of(cluster: Cluster, name: str) -> dict[str, Any]:
    request = urllib.request.Request(
        cluster.webs[name].base_url + "/api/stats",
        headers={"Authorization": f"Token {cluster.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_presence_is_the_same_from_either_process(cluster: Cluster) -> None:
    watchers = [
        Watcher(cluster.live_url("web-1"), "sensors.lab-1"),
        Watcher(cluster.live_url("web-1"), "sensors.lab-1"),
        Watcher(cluster.live_url("web-2"), "sensors.lab-1"),
    ]
    for watcher in watchers:
        await watcher.wait_for_more(1, within=15)
    expected = {"connections": 3, "users": 1}
    deadline = time.monotonic() + 10
    while True:
        seen = []
        for name in ("web-1", "web-2"):
            stats = await asyncio.to_thread(stats_of, cluster, name)
            seen += [s["viewers"] for s in stats["streams"] if s["slug"] == "sensors.lab-1"]
        if seen == [expected, expected] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    for watcher in watchers:
        await watcher.stop()
    assert seen == [expected, expected]


async def hello_and_data(url: str, stream: str) -> None:
    async with connect(url, open_timeout=5) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        await ws.send(json.dumps({"type": "subscribe", "stream": stream, "backfill": 0}))
        async with asyncio.timeout(10):
            async for text in ws:
                if json.loads(text)["type"] == "data":
                    return


async def test_once_redis_is_back_no_connection_is_refused(cluster: Cluster) -> None:
    cluster.redis.kill()
    await asyncio.sleep(1.0)
    cluster.redis.start()
    await asyncio.sleep(2.0)
    for name in ("web-1", "web-2"):
        for _ in range(3):
            await hello_and_data(cluster.live_url(name), "price.BTC-USD")


def push(cluster: Cluster, name: str, values: range) -> dict[str, Any]:
    request = urllib.request.Request(
        cluster.webs[name].base_url + "/api/streams/push.demo/samples",
        data=json.dumps({"samples": [{"values": {"value": v}} for v in values]}).encode(),
        headers={"Authorization": f"Token {cluster.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def test_pushes_through_both_processes_at_once_are_all_stored_once(cluster: Cluster) -> None:
    # From the stream's start: whether it subscribes before or after the pushes.
    watcher = Watcher(cluster.live_url("web-1"), "push.demo", since=0)
    every_sample = asyncio.ensure_future(watcher.wait_for_more(2400, within=30))
    batches = [("web-1" if n % 2 else "web-2", range(n * 200, (n + 1) * 200)) for n in range(12)]
    answers = await asyncio.gather(
        *(asyncio.to_thread(push, cluster, name, values) for name, values in batches)
    )
    ranges = sorted((answer["first"], answer["last"]) for answer in answers)
    assert all(last - first == 199 for first, last in ranges)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
    await every_sample
    await watcher.stop()
    assert watcher.seqs[-2400:] == list(range(ranges[0][0], ranges[-1][1] + 1))


async def test_clients_of_a_killed_web_process_resume_on_another(cluster: Cluster) -> None:
    watcher = Watcher(cluster.live_url("web-1"), "price.BTC-USD")
    await watcher.wait_for_more(10, within=15)
    cluster.kill("web-1")
    watcher.url = cluster.live_url("web-2")  # the load balancer's part
    await watcher.wait_for_more(20, within=20)
    await watcher.stop()
    assert_each_once(watcher.seqs)
