"""Counts the same from every web process: connections per viewer, watchers, totals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis import Redis

from streams.live.census import PREFIX, RedisCensus
from streams.live.presence import presence
from tests.processes import RedisServer

OTHER = "other-host:4242"


@pytest.fixture
def redis_census(tmp_path: Path) -> Iterator[tuple[RedisCensus, Redis]]:
    presence.reset()
    with RedisServer(tmp_path) as server:
        yield RedisCensus(server.url), Redis.from_url(server.url)
    presence.reset()


def other_process(redis: Redis, shares: dict[str, Any], *, alive: bool = True) -> None:
    """Write what another web process would: its heartbeat and its share of each count."""
    redis.zadd(f"{PREFIX}alive", {OTHER: time.time() + (15 if alive else -1)})
    for key, value in shares.items():
        redis.hset(PREFIX + key, OTHER, value)


async def test_the_connection_limit_counts_every_process(
    redis_census: tuple[RedisCensus, Redis],
) -> None:
    census, redis = redis_census
    other_process(redis, {"viewer:user:1": 3})
    presence.connect("c1", "user:1")
    await census.connection_changed("user:1")
    assert await census.viewer_connections("user:1") == 4
    assert int(redis.hget(f"{PREFIX}viewer:user:1", census_process()) or 0) == 1


async def test_a_dead_process_stops_counting(redis_census: tuple[RedisCensus, Redis]) -> None:
    census, redis = redis_census
    other_process(redis, {"viewer:user:1": 3}, alive=False)
    assert await census.viewer_connections("user:1") == 0


async def test_presence_adds_the_watchers_of_every_process(
    redis_census: tuple[RedisCensus, Redis],
) -> None:
    census, redis = redis_census
    share = orjson.dumps({"connections": 2, "viewers": ["user:1", "user:2"]})
    other_process(redis, {"stream:sine": share})
    presence.watch("sine", "c1", "user:2")
    presence.watch("sine", "c2", "user:3")
    assert await census.stream_counts("sine") == {"connections": 4, "users": 3}
    assert census.streams_counts(["sine"]) == {"sine": {"connections": 4, "users": 3}}


async def test_totals_are_the_clusters(redis_census: tuple[RedisCensus, Redis]) -> None:
    census, redis = redis_census
    theirs = orjson.dumps(
        {"connections": 5, "subscriptions": 9, "users": 2, "viewers": ["user:7", "user:8"]}
    )
    other_process(redis, {"totals": theirs})
    presence.connect("c1", "user:7")
    presence.watch("sine", "c1", "user:7")
    await census.heartbeat()
    assert census.totals() == {"connections": 6, "users": 2, "subscriptions": 10}


def test_stream_activity_adds_the_rates_of_every_process(
    redis_census: tuple[RedisCensus, Redis],
) -> None:
    census, redis = redis_census
    other_process(redis, {"activity:99": orjson.dumps([100.0, 5000, time.time()])})
    census.note_stored({99: [{"seq": 4000}]})
    rate, last_seq = census.activity([99])[99]
    assert last_seq == 5000
    assert rate >= 100.0


def census_process() -> str:
    from streams.metrics import PROCESS

    return PROCESS
