"""Many scripts pushing into one stream at once: every batch is stored, the seqs tile one sequence."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client

from streams.clock import now_ms
from streams.models import Sample, Stream

# A batch that gets as far as being stored goes through database_sync_to_async,
# which closes the connection of a test transaction: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

INGEST = "/api/streams/push.alice/samples"
SCRIPTS = 12
BATCHES_PER_SCRIPT = 3
BATCH_SIZE = 500


@pytest.fixture
def database_file(tmp_path: Path) -> Iterator[None]:
    """On SQLite, use a database file, as deployments do, for this test.

    The test database is in memory with a shared cache, whose table locks fail at
    once instead of waiting as a file's locks do: it cannot take concurrent writers.
    PostgreSQL's test database is used as it is.
    """
    if connection.vendor != "sqlite":
        yield
        return
    # Every thread's connection is made from these settings. The in-memory
    # database lives as long as a connection to it: this thread's stays open, aside.
    shared = connections.settings["default"]
    in_memory, kept = shared["NAME"], connections["default"]
    shared["NAME"] = str(tmp_path / "pushes.sqlite3")
    connections["default"] = kept.__class__(shared, "default")
    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        connections["default"].close()
        shared["NAME"] = in_memory
        connections["default"] = kept


def push(token: str, body: Any) -> tuple[int, dict[str, Any]]:
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    try:
        response = client.post(INGEST, data=orjson.dumps(body), content_type="application/json")
        return response.status_code, response.json()
    finally:
        connection.close()  # this thread's own connection


def script(token: str, number: int, start: threading.Barrier) -> list[tuple[int, dict[str, Any]]]:
    """Push this script's batches without timestamps, as the README's example does."""
    start.wait()
    answers = []
    for batch in range(BATCHES_PER_SCRIPT):
        samples = [
            {"values": {"value": number * 1_000_000 + batch * BATCH_SIZE + i}}
            for i in range(BATCH_SIZE)
        ]
        answers.append(push(token, {"samples": samples}))
    return answers


def test_twelve_scripts_pushing_at_once_are_all_stored(
    database_file: None, owner_token: str, push_stream: Stream
) -> None:
    start = threading.Barrier(SCRIPTS)
    with ThreadPoolExecutor(SCRIPTS) as pool:
        runs = [pool.submit(script, owner_token, n, start) for n in range(SCRIPTS)]
        answers = [answer for run in runs for answer in run.result()]

    assert [status for status, _ in answers] == [201] * SCRIPTS * BATCHES_PER_SCRIPT, [
        body for status, body in answers if status != 201
    ]
    ranges = sorted((body["first"], body["last"]) for _, body in answers)
    total = SCRIPTS * BATCHES_PER_SCRIPT * BATCH_SIZE
    # The acknowledged ranges tile 1..N: each starts right after the one before.
    assert ranges[0][0] == 1 and ranges[-1][1] == total
    for (_, last), (first, _) in itertools.pairwise(ranges):
        assert first == last + 1
    assert all(last - first + 1 == BATCH_SIZE for first, last in ranges)

    rows = list(Sample.objects.filter(stream=push_stream).order_by("seq").values_list("seq", "t"))
    assert [seq for seq, _ in rows] == list(range(1, total + 1))
    times = [t for _, t in rows]
    assert times == sorted(times), "a later seq carries an earlier time"
    # Every pushed value is stored exactly once.
    values = Sample.objects.filter(stream=push_stream).values_list("values", flat=True)
    assert len({value["value"] for value in values}) == total


def test_a_server_stamp_is_never_earlier_than_what_is_stored(
    owner_token: str, push_stream: Stream
) -> None:
    # A device whose clock runs a minute ahead pushed first.
    ahead = now_ms() + 60_000
    assert push(owner_token, {"samples": [{"t": ahead, "values": {"value": 1}}]})[0] == 201
    status, body = push(owner_token, {"samples": [{"values": {"value": 2}}]})
    assert status == 201
    stamped = Sample.objects.get(stream=push_stream, seq=body["first"]).t
    assert stamped == ahead


def test_an_explicit_time_earlier_than_what_is_stored_is_still_refused(
    owner_token: str, push_stream: Stream
) -> None:
    t = now_ms()
    assert push(owner_token, {"samples": [{"t": t, "values": {"value": 1}}]})[0] == 201
    status, body = push(owner_token, {"samples": [{"t": t - 1000, "values": {"value": 2}}]})
    assert status == 409
    assert body["error"]["code"] == "invalid_field"
    assert "earlier than the stream's latest sample" in body["error"]["message"]
    assert Sample.objects.filter(stream=push_stream).count() == 1
