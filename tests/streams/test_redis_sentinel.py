"""Redis Sentinel: REDIS_SENTINELS names the master's watchers, and every Redis use follows a failover.

The URL tests are fast. The others start a private master, replica and three
sentinels (tests/sentinel_set.py), kill the master and require the channel layer
and the census, through the same clients a web process makes, to reach the new
master by themselves.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.layers import channel_layers

from config.settings import channel_layers_for
from streams.fanout.redis_connection import (
    RedisAddressError,
    SentinelTarget,
    redis_client_sync,
    sentinel_target,
    sentinel_url,
)
from streams.live.census import RedisCensus
from streams.live.presence import presence
from tests.sentinel_set import MASTER_NAME, SentinelSet
from tests.streams.test_layers_redis import Inbox, send_until_received

ROOT = Path(__file__).resolve().parents[2]


def test_a_sentinel_url_names_every_sentinel_the_master_and_its_login() -> None:
    url = sentinel_url(
        ["10.0.0.5:26379", " sentinel-2:26380 ", "[::1]:26381"],
        "main",
        "redis://:s3cret@ignored:6379/2",
    )
    assert sentinel_target(url) == SentinelTarget(
        sentinels=(("10.0.0.5", 26379), ("sentinel-2", 26380), ("::1", 26381)),
        master="main",
        db=2,
        password="s3cret",
    )
    assert sentinel_target(sentinel_url(["a:1"])) == SentinelTarget(
        sentinels=(("a", 1),), master="mymaster"
    )
    assert sentinel_target("redis://127.0.0.1:6379/0") is None


@pytest.mark.parametrize(
    "bad", ["sentinel-1", "host:", ":26379", "host:port", "host:70000", "host:0"]
)
def test_a_sentinel_that_is_not_host_and_port_is_refused(bad: str) -> None:
    with pytest.raises(RedisAddressError, match="is not host:port"):
        sentinel_url(["ok:26379", bad])


def test_settings_refuse_a_bad_sentinel_list_by_name() -> None:
    env = {**os.environ, "REDIS_SENTINELS": "10.0.0.5:26379,sentinel-2"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "REDIS_SENTINELS='10.0.0.5:26379,sentinel-2'" in result.stderr
    assert "'sentinel-2' is not host:port" in result.stderr


def test_settings_put_the_sentinels_master_in_place_of_redis_url() -> None:
    code = "from django.conf import settings; print(settings.CHANNEL_LAYERS['default']['CONFIG']['url'])"
    env = {
        **os.environ,
        "REDIS_SENTINELS": "127.0.0.1:26379,127.0.0.1:26380",
        "REDIS_SENTINEL_MASTER": "pulse",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/pulse/0"


@pytest.fixture
def sentinels(tmp_path: Path, settings: Any) -> Iterator[SentinelSet]:
    """A Sentinel set of this test alone, since the test kills its master; the layer points at it."""
    with SentinelSet(tmp_path) as watched:
        settings.CHANNEL_LAYERS = channel_layers_for(
            sentinel_url(watched.addresses.split(","), MASTER_NAME)
        )
        channel_layers.backends.clear()
        yield watched
        channel_layers.backends.clear()


@pytest.mark.e2e
@pytest.mark.chaos
async def test_the_channel_layer_follows_the_master_to_the_replica(sentinels: SentinelSet) -> None:
    web, worker = channel_layers.make_backend("default"), channel_layers.make_backend("default")
    channel = await web.new_channel()
    await web.group_add("g", channel)
    inbox = Inbox(web, channel)
    try:
        await send_until_received(worker, inbox, within=5)
        old = sentinels.master.port
        assert sentinels.master_port() == old
        killed_at = time.monotonic()
        sentinels.master.kill()
        failover = await asyncio.to_thread(sentinels.wait_failover, old)
        await send_until_received(worker, inbox, within=10)
        back = time.monotonic() - killed_at
        print(
            f"\nfailover {failover:.2f} s, messages through the new master {back:.2f} s after the kill"
        )
        assert sentinels.replica is not None and sentinels.master_port() == sentinels.replica.port
        assert back <= 5.0
    finally:
        await inbox.close()
        await web.flush()
        await worker.flush()


@pytest.mark.e2e
@pytest.mark.chaos
async def test_the_census_counts_on_the_new_master_after_a_failover(sentinels: SentinelSet) -> None:
    presence.reset()
    url = sentinel_url(sentinels.addresses.split(","), MASTER_NAME)
    census = RedisCensus(url)
    try:
        presence.connect("c1", "user:1")
        await census.connection_changed("user:1")
        assert await census.viewer_connections("user:1") == 1
        old = sentinels.master.port
        sentinels.master.kill()
        await asyncio.to_thread(sentinels.wait_failover, old)
        deadline = time.monotonic() + 5
        while True:
            presence.connect("c2", "user:1")
            await census.connection_changed("user:1")
            # Read straight from the new master: the count was written there.
            assert sentinels.replica is not None
            direct = redis_client_sync(f"redis://127.0.0.1:{sentinels.replica.port}/0", {})
            if direct.hgetall("pulseboard:viewer:user:1"):
                break
            assert time.monotonic() < deadline, "the census did not write to the new master"
            await asyncio.sleep(0.2)
        assert await census.viewer_connections("user:1") == 2
    finally:
        presence.reset()
