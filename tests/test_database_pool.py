"""PostgreSQL connections come from a pool: what one thread sets on its connection stays with it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from streams.producer.threads import lock_wait_set

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not connection.settings_dict.get("OPTIONS", {}).get("pool"),
        reason="the pool is PostgreSQL's (and on unless PULSEBOARD_DB_POOL=false)",
    ),
]


def in_thread(work: object) -> None:
    def run() -> None:
        try:
            work()  # type: ignore[operator]
        finally:
            connection.close()  # back into the pool

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def test_a_lock_timeout_one_thread_set_does_not_reach_the_next_thread() -> None:
    in_thread(lambda: lock_wait_set(123))  # as the producer's database thread does
    pool = connection.pool
    assert pool is not None
    idle = [pool.getconn() for _ in range(pool.get_stats()["pool_available"])]
    try:
        assert idle, "the thread's connection went back into the pool"
        assert [c.execute("SHOW lock_timeout").fetchone()[0] for c in idle] == ["0"] * len(idle)
    finally:
        for pooled in idle:
            pool.putconn(pooled)


def test_requests_in_threads_of_their_own_share_connections() -> None:
    pool = connection.pool
    assert pool is not None

    def query() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    in_thread(query)  # the pool holds an idle connection from here on
    before = pool.get_stats()
    for _ in range(6):  # as ASGI runs each request: a new thread each time
        in_thread(query)
    after = pool.get_stats()
    # Each thread took an idle connection and gave it back: none opened, none dropped.
    assert after.get("connections_num", 0) == before.get("connections_num", 0)
    assert after.get("returns_bad", 0) == before.get("returns_bad", 0)
