"""Writes that never stall the live path: a busy database answers 503, leases renew beside bulk writes.

On a database file, as deployments have it (the tests' in-memory SQLite cannot
take concurrent writers); on PostgreSQL the test database as it is.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.test import Client

from streams.history.store import WritePriority, write_turn
from streams.models import Sample, Stream
from streams.producer.ingest import ingest_store
from streams.producer.leases import leases_claim
from tests.streams.test_ingest_concurrency import database_file  # noqa: F401 (a fixture)
from tests.support.producers import Clock, MakeProducer, sine_stream
from tests.support.samples import stored_samples

pytestmark = pytest.mark.django_db(transaction=True)

INGEST = "/api/streams/push.alice/samples"


def push(token: str, size: int = 10) -> Any:
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", raise_request_exception=False)
    body = {"samples": [{"values": {"value": i}} for i in range(size)]}
    return client.post(INGEST, data=orjson.dumps(body), content_type="application/json")


@pytest.fixture
def another_process_writing(
    database_file: None,  # noqa: F811
    owner_token: str,
    push_stream: Stream,
) -> Iterator[None]:
    """Hold SQLite's write lock from another connection, as a second process would."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's one write lock; PostgreSQL locks rows")
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO streams_streamlease (stream_id, holder, expires_ms) VALUES (-1, '', 0)"
    )
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_push_that_finds_the_database_locked_is_told_to_come_back(
    another_process_writing: None, owner_token: str, push_stream: Stream
) -> None:
    connection.ensure_connection()
    with connection.cursor() as cursor:  # this connection waits 0.2 s, not 20
        cursor.execute("PRAGMA busy_timeout = 200")
    response = push(owner_token)
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "busy"
    assert not Sample.objects.filter(stream=push_stream).exists()


def test_a_push_that_waits_too_long_for_its_turn_is_told_to_come_back(
    database_file: None,  # noqa: F811
    owner_token: str,
    push_stream: Stream,
    settings: Any,
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("turns are SQLite's; PostgreSQL writers wait on rows")
    settings.PULSEBOARD_INGEST_WAIT_SECONDS = 0.2
    holding, release = threading.Event(), threading.Event()

    def producer_writing() -> None:
        with write_turn(WritePriority.LIVE):
            holding.set()
            release.wait(5)

    writer = threading.Thread(target=producer_writing)
    writer.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        response = push(owner_token)
        waited = time.monotonic() - started
    finally:
        release.set()
        writer.join()
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "busy"
    assert response.json()["error"]["message"] == (
        "The database is busy; nothing was stored. Try again in 1 s."
    )
    assert waited < 2
    assert stored_samples(push_stream) == []
    assert push(owner_token).status_code == 201  # and once the turn is free, it goes in


def test_leases_renew_promptly_while_pushes_keep_the_database_busy(
    database_file: None,  # noqa: F811
    push_stream: Stream,
) -> None:
    sine = sine_stream("sine.busy")
    rows: list[Any] = [(None, {"value": float(i)}, []) for i in range(5_000)]
    stop = threading.Event()
    pushed: list[float] = []  # how long each push held its turn to write

    def pusher() -> None:
        try:
            while not stop.is_set():
                with write_turn(WritePriority.BULK):  # the push's own turn (turns nest)
                    started = time.monotonic()
                    ingest_store(stream_id=push_stream.pk, rows=rows)
                    pushed.append(time.monotonic() - started)
        finally:
            connection.close()

    renewals: list[float] = []
    failures: list[BaseException] = []

    def renewer() -> None:
        clock = Clock()
        try:
            with connection.cursor() as cursor:  # as the producer's lease thread does
                if connection.vendor == "sqlite":
                    cursor.execute("PRAGMA busy_timeout = 250")
            for _ in range(12):
                started = time.monotonic()
                try:
                    held = leases_claim(
                        holder="worker-a", stream_ids=[sine.pk], now=clock(), ttl_ms=1600
                    )
                    assert held == {sine.pk}
                except Exception as error:  # a renewal that failed is what this test is about
                    failures.append(error)
                renewals.append(time.monotonic() - started)
                clock.advance(250)
                time.sleep(0.25)
        finally:
            connection.close()

    threads = [threading.Thread(target=pusher) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        while not pushed:
            time.sleep(0.01)
        renewing = threading.Thread(target=renewer)
        renewing.start()
        renewing.join()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures, failures
    assert len(pushed) >= 3, "the pushers did not keep the database busy"
    # Each renewal waits at most for the write under way, never for the queue of pushes.
    assert max(renewals) < 1.5 * max(pushed) + 0.25, (renewals, pushed)


async def test_the_producer_drops_a_stream_whose_lease_another_took_and_publishes_none_of_it(
    make_producer: MakeProducer, sine: Stream
) -> None:
    layer: Any = get_channel_layer()
    watcher = await layer.new_channel()
    await layer.group_add("stream.sine.fast", watcher)
    clock = Clock()
    frozen = make_producer("worker-a", clock)
    await frozen.reconcile()
    assert frozen.retention is not None
    await frozen.retention  # its retention pass, on a thread of its own, is done
    await frozen.tick()
    first = await layer.receive(watcher)
    # worker-a freezes past its lease; worker-b takes the stream over.
    clock.advance(11_000)
    await database_sync_to_async(leases_claim)(
        holder="worker-b", stream_ids=[sine.pk], now=clock(), ttl_ms=10_000
    )
    # worker-a wakes believing its lease is still good (as if frozen mid-tick).
    frozen.lease_deadline = clock() + 5_000
    clock.advance(50)
    await frozen.tick()
    assert frozen.runners == {}, "a producer went on with a stream another owns"
    stored = await database_sync_to_async(
        lambda: list(Sample.objects.filter(stream=sine).values_list("seq", flat=True))
    )()
    assert max(stored) == first["last"], "the frozen producer stored samples"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(layer.receive(watcher), 0.2)  # nothing of the stream published
