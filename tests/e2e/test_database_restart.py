"""A PostgreSQL restart under a cluster: the producer keeps publishing, stores what it
held back once the database is back, and no viewer sees a hole."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_cluster import Cluster, Watcher, assert_each_once
from tests.processes import PostgresServer, RedisServer, database_prepare, server_env
from tests.support.samples import database_samples

pytestmark = pytest.mark.e2e

STREAM = "price.BTC-USD"


@pytest.fixture(scope="module")
def on_private_postgres(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Cluster, PostgresServer]]:
    tmp: Path = tmp_path_factory.mktemp("pg-restart")
    postgres = PostgresServer(tmp)
    with postgres, RedisServer(tmp) as redis:
        env = server_env(
            postgres.url,
            redis_url=redis.url,
            PULSEBOARD_LEASE_SECONDS="10",
            PULSEBOARD_RECONCILE_SECONDS="0.5",
        )
        database_prepare(env, running=[STREAM])
        cluster = Cluster(redis=redis, env=env, log_dir=tmp)
        try:
            cluster.web("web")
            cluster.worker("worker")
            yield cluster, postgres
        finally:
            for name in [*cluster.webs, *cluster.workers]:
                cluster.kill(name)


def stored_seqs(url: str) -> list[int]:
    return [sample.seq for sample in database_samples(url, STREAM)]


async def test_a_database_restart_leaves_no_hole_live_or_stored(
    on_private_postgres: tuple[Cluster, Any],
) -> None:
    cluster, postgres = on_private_postgres
    watcher = Watcher(cluster.live_url("web"), STREAM)
    await watcher.wait_for_more(10, within=20)
    postgres.kill()
    await asyncio.sleep(3)
    postgres.start()
    await watcher.wait_for_more(40, within=30)
    await watcher.stop()
    assert_each_once(watcher.seqs)
    # What the producer held back while the database was away is stored too.
    await asyncio.sleep(2)
    stored = await asyncio.to_thread(stored_seqs, postgres.url)
    assert stored == list(range(1, stored[-1] + 1))
    assert stored[-1] >= watcher.seqs[-1] - 50
