"""Older samples move into blocks; every read gives the same samples as before, each seq once."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from streams.history.compaction import Compactor, Cutoffs, stream_compact
from streams.history.reader import samples_read
from streams.history.samples import (
    history_after,
    history_first_seq,
    history_first_t,
    history_last_seq,
    history_latest,
    history_page,
    samples_page,
    seq_bounds,
)
from streams.history.store import history_append
from streams.messages import SampleFrame, sample_frame
from streams.models import Sample, SampleBlock, Stream
from tests.processes import PYTHON, ROOT, database_prepare, kill_process, server_env
from tests.support.samples import EPOCH_MS

pytestmark = pytest.mark.django_db
EVERYTHING = Cutoffs(hot=2**62, partial=2**62)


def samples_of(seqs: range) -> list[SampleFrame]:
    """Samples a second apart with a number, text on some and flags on others."""
    samples = []
    for seq in seqs:
        values: dict[str, Any] = {"temperature": round(20 + seq / 100, 2)}
        if seq % 3 == 0:
            values["state"] = f"s{seq}"
        flags = ["anomaly"] if seq % 7 == 0 else []
        samples.append(sample_frame(seq, EPOCH_MS + 1000 * seq, values, flags))
    return samples


def every_read(stream: Stream) -> dict[str, Any]:
    """What each reader of raw history answers, over the ranges tests care about."""
    pk = stream.pk
    middle = EPOCH_MS + 1000 * 150
    return {
        "after": history_after(pk, 0, limit=10_000),
        "after 95 until 130": history_after(pk, 95, until=130, limit=20),
        "latest 7": history_latest(pk, 7),
        "latest all": history_latest(pk, 10_000),
        "page forward": samples_page(pk, start=middle, end=middle + 60_000, limit=25),
        "page after": samples_page(pk, start=middle, end=middle + 60_000, after_seq=170, limit=5),
        "page before": samples_page(pk, start=EPOCH_MS, end=middle, before_seq=120, limit=30),
        "bounds": seq_bounds(pk, middle, middle + 60_000),
        "first t": history_first_t(pk),
        "first seq": history_first_seq(pk),
        "last seq": history_last_seq(pk),
        "replay page": history_page(
            stream.slug, start=EPOCH_MS, end=middle, after_seq=10, limit=50
        ),
    }


def test_compaction_keeps_every_read_the_same(private_stream: Stream) -> None:
    history_append({private_stream.pk: samples_of(range(1, 301))})
    before = every_read(private_stream)

    moved = stream_compact(private_stream.pk, EVERYTHING, block_samples=64)

    assert moved == 299, "every sample but the newest moves"
    assert list(Sample.objects.filter(stream=private_stream).values_list("seq", flat=True)) == [300]
    assert SampleBlock.objects.filter(stream=private_stream).count() == 5
    assert every_read(private_stream) == before


def test_reads_cross_from_blocks_into_rows_both_ways(private_stream: Stream) -> None:
    history_append({private_stream.pk: samples_of(range(1, 101))})
    stream_compact(private_stream.pk, EVERYTHING, block_samples=30)  # 1–99 in blocks
    history_append({private_stream.pk: samples_of(range(101, 151))})

    forward = samples_read(private_stream.pk, after_seq=80, limit=40)
    newest = samples_read(private_stream.pk, before_seq=120, limit=40, newest_first=True)

    assert [seq for seq, *_ in forward] == list(range(81, 121))
    assert [seq for seq, *_ in newest] == list(range(119, 79, -1))
    assert SampleBlock.objects.filter(stream=private_stream).count() == 4


def test_only_rows_older_than_the_hot_tail_move(private_stream: Stream) -> None:
    history_append({private_stream.pk: samples_of(range(1, 201))})
    hot_from = EPOCH_MS + 1000 * 150
    # Full blocks only: the short run 129–149 waits until it is old enough.
    moved = stream_compact(private_stream.pk, Cutoffs(hot=hot_from, partial=0), block_samples=64)
    assert moved == 128
    moved = stream_compact(
        private_stream.pk, Cutoffs(hot=hot_from, partial=hot_from), block_samples=64
    )
    assert moved == 21
    rows = Sample.objects.filter(stream=private_stream).values_list("seq", flat=True)
    assert min(rows) == 150 and len(rows) == 51


def test_a_stale_writer_of_compacted_seqs_stores_nothing(private_stream: Stream) -> None:
    history_append({private_stream.pk: samples_of(range(1, 101))})
    stream_compact(private_stream.pk, EVERYTHING, block_samples=40)

    stored = history_append({private_stream.pk: samples_of(range(50, 103))})

    assert stored == 2, "only 101 and 102 are new"
    seqs = [seq for seq, *_ in samples_read(private_stream.pk, limit=1000)]
    assert seqs == list(range(1, 103))


def test_a_pass_after_a_pass_moves_nothing_twice(private_stream: Stream) -> None:
    history_append({private_stream.pk: samples_of(range(1, 101))})
    assert stream_compact(private_stream.pk, EVERYTHING, block_samples=40) == 99
    assert stream_compact(private_stream.pk, EVERYTHING, block_samples=40) == 0
    history_append({private_stream.pk: samples_of(range(101, 121))})
    assert stream_compact(private_stream.pk, EVERYTHING, block_samples=40) == 20
    blocks = SampleBlock.objects.filter(stream=private_stream).order_by("first_seq")
    assert [(b.first_seq, b.last_seq) for b in blocks] == [(1, 40), (41, 80), (81, 99), (100, 119)]


def test_deleting_a_stream_deletes_its_blocks(private_stream: Stream) -> None:
    history_append({private_stream.pk: samples_of(range(1, 101))})
    stream_compact(private_stream.pk, EVERYTHING, block_samples=40)
    private_stream.delete()
    assert not SampleBlock.objects.exists()


def stored_seqs(database: Path) -> list[int]:
    """Every seq stored for the sine stream, rows and blocks, read outside Django."""
    from streams.history.codec import block_samples, block_table

    with sqlite3.connect(database) as connection:
        seqs = [row[0] for row in connection.execute("SELECT seq FROM streams_sample")]
        for (data,) in connection.execute("SELECT data FROM streams_sampleblock"):
            seqs += [seq for seq, *_ in block_samples(block_table(data))]
    return sorted(seqs)


@pytest.mark.chaos
def test_a_compaction_killed_half_way_loses_and_doubles_nothing(tmp_path: Path) -> None:
    database = tmp_path / "compact.sqlite3"
    env = server_env(f"sqlite:///{database}")
    database_prepare(env, running=[])
    total = 60_000
    with sqlite3.connect(database) as connection:
        (stream_id,) = connection.execute(
            "SELECT id FROM streams_stream WHERE slug = 'sine.1khz'"
        ).fetchone()
        connection.executemany(
            'INSERT INTO streams_sample (stream_id, seq, t, "values", flags) VALUES (?, ?, ?, ?, ?)',
            [
                (stream_id, seq, EPOCH_MS + seq, f'{{"value": {seq / 1e6}}}', "[]")
                for seq in range(1, total + 1)
            ],
        )
    command = [
        PYTHON,
        "manage.py",
        "compact",
        "--wait",
        "--hot-seconds",
        "0",
        "--block-samples",
        "500",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with sqlite3.connect(database) as connection:
                (blocks,) = connection.execute(
                    "SELECT COUNT(*) FROM streams_sampleblock"
                ).fetchone()
            if blocks >= 5:
                break
            assert process.poll() is None, "compact ended before it was killed"
            assert time.monotonic() < deadline, "compaction made no blocks"
            time.sleep(0.02)
    finally:
        kill_process(process)
    assert 5 <= blocks < total // 500, "killed half way"
    assert stored_seqs(database) == list(range(1, total + 1))

    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)

    assert stored_seqs(database) == list(range(1, total + 1))
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT seq FROM streams_sample").fetchall()
    assert rows == [(total,)], "everything but the newest sample is in blocks"


@pytest.mark.django_db(transaction=True)
def test_a_producer_process_compacts_in_a_thread_of_its_own(
    private_stream: Stream, settings: Any
) -> None:
    settings.PULSEBOARD_COMPACT_EVERY_SECONDS = 0.05
    settings.PULSEBOARD_HISTORY_HOT_SECONDS = 60
    history_append({private_stream.pk: samples_of(range(1, 201))})  # all from 2023
    compactor = Compactor()
    compactor.nudge(0)
    assert compactor.thread is None, "the first pass waits an interval"
    time.sleep(0.06)
    compactor.nudge(0)
    assert compactor.thread is not None and compactor.thread is not threading.current_thread()
    compactor.thread.join(timeout=30)
    assert SampleBlock.objects.filter(stream=private_stream).count() == 1
    assert [seq for seq, *_ in samples_read(private_stream.pk, limit=500)] == list(range(1, 201))


def test_retention_drops_whole_blocks_and_trims_rows(private_stream: Stream) -> None:
    from streams.history.retention import blocks_trim, history_trim

    history_append({private_stream.pk: samples_of(range(1, 201))})
    stream_compact(private_stream.pk, EVERYTHING, block_samples=50)  # 1–50, 51–100, …, 151–199
    cutoff = EPOCH_MS + 1000 * 120  # samples 1–119 have expired

    dropped = blocks_trim(private_stream.pk, cutoff) + history_trim(private_stream.pk, cutoff)

    assert dropped == 100, "the two blocks wholly past the cutoff, no sample of the one it cuts"
    seqs = [seq for seq, *_ in samples_read(private_stream.pk, limit=500)]
    assert seqs == list(range(101, 201))


def test_deleting_a_stream_never_reads_its_blocks(private_stream: Stream) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    history_append({private_stream.pk: samples_of(range(1, 201))})
    stream_compact(private_stream.pk, EVERYTHING, block_samples=50)
    with CaptureQueriesContext(connection) as queries:
        private_stream.delete()
    block_queries = [q["sql"] for q in queries.captured_queries if "sampleblock" in q["sql"]]
    assert block_queries and all(sql.startswith("DELETE") for sql in block_queries)
    assert not SampleBlock.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_old_rows_into_blocks_and_back(private_stream: Stream) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("streams.migrations.0007_rows_into_blocks")
    history_append({private_stream.pk: samples_of(range(1, 301))})
    before = every_read(private_stream)
    rows_before = list(Sample.objects.order_by("seq").values_list("seq", "t", "values", "flags"))

    migration.rows_into_blocks(apps, None)
    assert Sample.objects.count() == 1 and SampleBlock.objects.count() == 1
    assert every_read(private_stream) == before

    migration.blocks_into_rows(apps, None)
    assert not SampleBlock.objects.exists()
    rows = list(Sample.objects.order_by("seq").values_list("seq", "t", "values", "flags"))
    assert rows == rows_before


def test_reads_and_counts_walk_many_blocks_in_both_directions(private_stream: Stream) -> None:
    from streams.history.reader import samples_count

    history_append({private_stream.pk: samples_of(range(1, 301))})
    stream_compact(private_stream.pk, EVERYTHING, block_samples=5)  # 60 blocks
    pk = private_stream.pk

    forward = samples_read(pk, after_seq=3, limit=290)
    newest = samples_read(pk, limit=290, newest_first=True)
    start, end = EPOCH_MS + 1000 * 42, EPOCH_MS + 1000 * 258

    assert [seq for seq, *_ in forward] == list(range(4, 294))
    assert [seq for seq, *_ in newest] == list(range(300, 10, -1))
    assert samples_count(pk, start=start, end=end) == 258 - 42
    assert samples_count(pk, after_seq=287) == 13


@pytest.mark.django_db(transaction=True)
def test_exports_are_byte_for_byte_the_same_once_compacted(owner: Any, settings: Any) -> None:
    from asgiref.sync import async_to_sync

    from tests.support.factories import make_stream
    from tests.support.web import logged_in

    stream = make_stream(
        "push.blocks",
        owner=owner,
        fields=[{"name": "temperature", "unit": ""}, {"name": "state", "unit": "", "type": "text"}],
    )
    settings.PULSEBOARD_BLOCK_BATCH_SAMPLES = 0  # rows first, as a live stream stores them
    history_append({stream.pk: samples_of(range(1, 1201))})
    client = logged_in(owner)

    async def read(response: Any) -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    def body(path: str) -> bytes:
        response = client.get(path)
        assert response.status_code == 200
        return async_to_sync(read)(response)

    paths = [
        f"/api/streams/{stream.slug}/export.{kind}?from={EPOCH_MS}&to={EPOCH_MS + 2_000_000}{extra}"
        for kind in ("csv", "json")
        for extra in ("", "&first_seq=250&last_seq=900")
    ]
    before = [body(path) for path in paths]
    stream_compact(stream.pk, EVERYTHING, block_samples=300)
    assert SampleBlock.objects.filter(stream=stream).count() == 4
    assert [body(path) for path in paths] == before
