"""manage.py import: CSV and Parquet history straight into blocks, all checked before any write."""

from __future__ import annotations

import gzip
import json
import sqlite3
import struct
import subprocess
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command

from streams.history import import_files
from streams.history.query import history_buckets
from streams.history.reader import samples_read
from streams.history.store import history_append
from streams.messages import sample_frame
from streams.models import Rollup, Sample, SampleBlock, Stream
from streams.producer.imports import ImportInterrupted, history_import, history_import_check
from tests.processes import PYTHON, ROOT, database_prepare, kill_process, run_manage, server_env
from tests.support.factories import make_stream
from tests.support.samples import EPOCH_MS, samples_store, stored_samples
from tests.support.web import logged_in

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = [
    {"name": "temperature", "unit": "°C"},
    {"name": "count", "unit": ""},
    {"name": "label", "unit": "", "type": "text"},
]
AWKWARD_FLOATS = [0.1, 1e-300, -0.0, 1.5e-7, -2.5e-8, 5e-324, 2.0**-1074, 123456789.123456789]
AWKWARD_TEXTS = [
    'a, "quoted" one',
    "two\nlines",
    "=1+1",
    "-minus",
    "NA",
    "null",
    "'quote",
    "ünïcode ✓",
]


def awkward_samples(count: int) -> list[Any]:
    """Samples 250 ms apart: awkward floats and texts, integer counts, flags on some."""
    samples = []
    for seq in range(1, count + 1):
        values: dict[str, Any] = {
            "temperature": AWKWARD_FLOATS[seq % len(AWKWARD_FLOATS)] if seq % 3 else seq / 100,
            "count": seq * 7 - 40,
        }
        if seq % 4:
            values["label"] = AWKWARD_TEXTS[seq % len(AWKWARD_TEXTS)]
        flags = ["anomaly", "clipped"] if seq % 5 == 0 else ["anomaly"] if seq % 7 == 0 else []
        samples.append(sample_frame(seq, EPOCH_MS + 250 * seq, values, flags))
    return samples


def exact(samples: list[Any]) -> list[Any]:
    """Return samples with every float as its bits, so -0.0 differs from 0.0."""

    def bits(value: Any) -> Any:
        return ("float", struct.pack(">d", value)) if isinstance(value, float) else value

    return [
        (seq, t, {name: bits(value) for name, value in values.items()}, list(flags))
        for seq, t, values, flags in samples
    ]


def everything(stream: Stream) -> list[Any]:
    return samples_read(stream.pk, limit=10**9)


def source_stream(owner: Any, count: int = 300) -> Stream:
    stream = make_stream("lab.source", owner=owner, fields=FIELDS)
    history_append({stream.pk: awkward_samples(count)})
    return stream


def exported(owner: Any, stream: Stream, extension: str = "csv") -> bytes:
    """Return the stream's whole history as its export.csv (or .parquet) sends it."""
    response = logged_in(owner).get(
        f"/api/streams/{stream.slug}/export.{extension}?from=0&to={EPOCH_MS + 86_400_000}"
    )
    assert response.status_code == 200

    async def body() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(body)()


def run_import(slug: str, path: Path, *options: str) -> str:
    out = StringIO()
    call_command("import", slug, str(path), "--quiet", *options, stdout=out, stderr=out)
    return out.getvalue()


def stored_state(stream: Stream) -> tuple[Any, ...]:
    """What a refused import must leave as it was: rows, blocks and rollups."""
    return (
        exact(everything(stream)),
        SampleBlock.objects.filter(stream=stream).count(),
        sorted(Rollup.objects.filter(stream=stream).values_list("tier", "start")),
    )


def test_a_csv_export_imports_back_bit_for_bit(owner: Any, tmp_path: Path) -> None:
    source = source_stream(owner)
    path = tmp_path / "lab.csv"
    path.write_bytes(exported(owner, source))
    target = make_stream("lab.copy", owner=owner, fields=FIELDS)

    report = run_import("lab.copy", path, "--block-samples", "64")

    assert exact(everything(target)) == exact(everything(source))
    assert "Imported 300 samples into lab.copy: seq 1–300" in report
    assert SampleBlock.objects.filter(stream=target).count() == 5  # 63 + 64 × 3 + 44 (+ a row)
    assert list(Sample.objects.filter(stream=target).values_list("seq", flat=True)) == [300]


def test_a_parquet_export_imports_back_bit_for_bit(owner: Any, tmp_path: Path) -> None:
    source = source_stream(owner)
    path = tmp_path / "lab.parquet"
    path.write_bytes(exported(owner, source, "parquet"))
    target = make_stream("lab.copy", owner=owner, fields=FIELDS)

    run_import("lab.copy", path, "--block-samples", "64")

    # export.parquet writes every number as a double: the integer counts come back floats.
    expected = [
        (seq, t, {**values, "count": float(values["count"])}, flags)
        for seq, t, values, flags in everything(source)
    ]
    assert exact(everything(target)) == exact(expected)


def test_a_gzipped_csv_imports_as_the_plain_one(owner: Any, tmp_path: Path) -> None:
    source = source_stream(owner, 40)
    path = tmp_path / "lab.csv.gz"
    path.write_bytes(gzip.compress(exported(owner, source)))
    target = make_stream("lab.copy", owner=owner, fields=FIELDS)
    run_import("lab.copy", path)
    assert exact(everything(target)) == exact(everything(source))


def parquet_export(stream: Stream, path: Path) -> None:
    """Write a stream's history as export's columns (seq, t, time, fields, flags) in Parquet."""
    samples = everything(stream)
    columns: dict[str, Any] = {
        "seq": pa.array([s[0] for s in samples], pa.int64()),
        "t": pa.array([s[1] for s in samples], pa.int64()),
        "time": pa.array([s[1] for s in samples], pa.timestamp("ms", tz="UTC")),
        "temperature": pa.array([s[2].get("temperature") for s in samples], pa.float64()),
        "count": pa.array([s[2].get("count") for s in samples], pa.int64()),
        "label": pa.array([s[2].get("label") for s in samples], pa.string()),
        "flags": pa.array([" ".join(s[3]) for s in samples], pa.string()),
    }
    pq.write_table(pa.table(columns), path)


def test_a_parquet_file_imports_bit_for_bit_with_its_rollups(owner: Any, tmp_path: Path) -> None:
    source = source_stream(owner)
    path = tmp_path / "lab.parquet"
    parquet_export(source, path)
    target = make_stream("lab.copy", owner=owner, fields=FIELDS)

    run_import("lab.copy", path, "--block-samples", "100")

    assert exact(everything(target)) == exact(everything(source))
    start, end = EPOCH_MS, EPOCH_MS + 250 * 301
    for points in (10, 60):  # from minute rollups, then second rollups
        imported = history_buckets(target.pk, start, end, points).as_json()
        written = history_buckets(source.pk, start, end, points).as_json()
        assert imported["tier"] == written["tier"] and imported["t"] == written["t"]
        assert imported["count"] == written["count"] and imported["flags"] == written["flags"]
        for name, series in written["fields"].items():
            for statistic, values in series.items():
                # A mean's sum may differ in its last bits: Arrow adds in its own order.
                close = pytest.approx(values, rel=1e-12) if statistic == "mean" else values
                assert imported["fields"][name][statistic] == close, (name, statistic)


def test_imported_rollups_are_the_ones_live_writes_keep(owner: Any, tmp_path: Path) -> None:
    # Quarters and integers: every sum is exact, however the samples are added up.
    source = make_stream("lab.source", owner=owner, fields=FIELDS)
    samples = [
        sample_frame(
            seq,
            EPOCH_MS + 100 * seq,
            {"temperature": (seq % 40) / 4 - 3, "count": seq % 9, "label": "x"},
            ["anomaly"] if seq % 11 == 0 else [],
        )
        for seq in range(1, 3001)
    ]
    for offset in range(0, len(samples), 50):  # as a producer's ticks store them
        history_append({source.pk: samples[offset : offset + 50]})
    path = tmp_path / "lab.parquet"
    parquet_export(source, path)
    target = make_stream("lab.copy", owner=owner, fields=FIELDS)

    run_import("lab.copy", path, "--block-samples", "700")

    assert rollups_of(target) == rollups_of(source)


def test_a_file_without_seqs_continues_the_stream(owner: Any, tmp_path: Path) -> None:
    stream = make_stream("lab.push", owner=owner, fields=[{"name": "temperature", "unit": ""}])
    samples_store(stream, range(1, 11))  # t = EPOCH_MS + 1000 seq
    path = tmp_path / "more.csv"
    rows = [f"{EPOCH_MS + 10_500 + 500 * i},{20 + i / 4}" for i in range(5)]
    path.write_text("t,temperature\n" + "\n".join(rows) + "\n")

    report = run_import("lab.push", path)

    stored = stored_samples(stream)
    assert [s.seq for s in stored] == list(range(1, 16))
    assert [s.values["temperature"] for s in stored[10:]] == [20.0, 20.25, 20.5, 20.75, 21.0]
    assert "seq 11–15" in report
    # The newest stays a row: the next push goes on from seq 15, not 10.
    assert history_append({stream.pk: [sample_frame(15, EPOCH_MS + 20_000, {})]}) == 0
    assert history_append({stream.pk: [sample_frame(16, EPOCH_MS + 20_000, {})]}) == 1


def test_a_field_with_a_fraction_anywhere_is_floats_throughout(
    owner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_files, "READ_BLOCK_BYTES", 4096)  # the fraction in a later batch
    stream = make_stream(
        "lab.push",
        owner=owner,
        fields=[{"name": "temperature", "unit": ""}, {"name": "count", "unit": ""}],
    )
    path = tmp_path / "numbers.csv"
    rows = [f"{EPOCH_MS + i},{i},{i}" for i in range(1, 2001)] + [f"{EPOCH_MS + 2001},0.5,7"]
    path.write_text("t,temperature,count\n" + "\n".join(rows) + "\n")

    run_import("lab.push", path, "--block-samples", "500")

    values = [s.values for s in stored_samples(stream)]
    assert [type(v["temperature"]) for v in values] == [float] * 2001
    assert values[0] == {"temperature": 1.0, "count": 1} and values[-1]["temperature"] == 0.5
    assert [type(v["count"]) for v in values] == [int] * 2001


def test_a_time_column_alone_gives_the_times(owner: Any, tmp_path: Path) -> None:
    stream = make_stream("lab.push", owner=owner, fields=[{"name": "temperature", "unit": ""}])
    path = tmp_path / "times.csv"
    path.write_text(
        "time,temperature\n2023-11-14T22:13:20.250+00:00,1.5\n2023-11-14T23:13:21+01:00,2\n"
        "2023-11-14T22:13:22.5,2.5\n"
    )
    run_import("lab.push", path)
    assert [(s.seq, s.t) for s in stored_samples(stream)] == [
        (1, 1_700_000_000_250),
        (2, 1_700_000_001_000),
        (3, 1_700_000_002_500),
    ]
    assert [s.values["temperature"] for s in stored_samples(stream)] == [1.5, 2, 2.5]


def refused(slug: str, path: Path, *options: str) -> str:
    """Run an import that must be refused; return its message."""
    stream = Stream.objects.get(slug=slug)
    before = stored_state(stream)
    with pytest.raises(CommandError) as error:
        run_import(slug, path, *options)
    assert stored_state(stream) == before, "a refused import wrote something"
    return str(error.value)


@pytest.fixture
def stream_with_history(owner: Any) -> Stream:
    """A push stream of one number field with seqs 1–10, t = EPOCH_MS + 1000 seq."""
    stream = make_stream("lab.push", owner=owner, fields=[{"name": "temperature", "unit": ""}])
    samples_store(stream, range(1, 11))
    return stream


def test_it_refuses_a_file_overlapping_the_stored_history(
    stream_with_history: Stream, tmp_path: Path
) -> None:
    path = tmp_path / "overlap.csv"
    path.write_text(f"seq,t,temperature\n9,{EPOCH_MS + 9000},1\n11,{EPOCH_MS + 11_000},2\n")
    message = refused("lab.push", path)
    assert f"lab.push already holds samples up to seq 10, t {EPOCH_MS + 10_000}" in message
    assert "the file starts at seq 9" in message
    assert "--skip-stored" in message
    assert "Nothing was written" in message


def test_it_refuses_a_seqless_file_from_before_the_newest_sample(
    stream_with_history: Stream, tmp_path: Path
) -> None:
    path = tmp_path / "early.csv"
    path.write_text(f"t,temperature\n{EPOCH_MS + 10_000},1\n")  # the newest's own t
    assert "already holds samples up to seq 10" in refused("lab.push", path)


def test_it_refuses_times_that_go_back(stream_with_history: Stream, tmp_path: Path) -> None:
    path = tmp_path / "back.csv"
    t = EPOCH_MS + 20_000
    path.write_text(f"t,temperature\n{t},1\n{t},2\n{t - 1},3\n")
    message = refused("lab.push", path)
    assert f"row 3: t {t - 1}" in message and "times must not decrease" in message


def test_it_refuses_seqs_that_do_not_increase(stream_with_history: Stream, tmp_path: Path) -> None:
    path = tmp_path / "seqs.csv"
    t = EPOCH_MS + 20_000
    path.write_text(f"seq,t,temperature\n20,{t},1\n20,{t + 1},2\n")
    assert "row 2: seq 20 does not follow seq 20" in refused("lab.push", path)


def test_it_refuses_a_column_that_names_no_field(
    stream_with_history: Stream, tmp_path: Path
) -> None:
    path = tmp_path / "extra.csv"
    path.write_text(f"t,temperature,humidity\n{EPOCH_MS + 20_000},1,50\n")
    message = refused("lab.push", path)
    assert "'humidity' name no field of the stream (its fields: 'temperature')" in message
    run_import("lab.push", path, "--ignore-extra")
    assert stored_samples(stream_with_history)[-1].values == {"temperature": 1}


def test_it_refuses_text_in_a_number_field(stream_with_history: Stream, tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    t = EPOCH_MS + 20_000
    path.write_text(f"t,temperature\n{t},1.5\n{t + 1},warm\n")
    assert "row 2, column 'temperature': 'warm' is not a number" in refused("lab.push", path)


def test_it_refuses_numbers_no_push_could_store(
    stream_with_history: Stream, tmp_path: Path
) -> None:
    path = tmp_path / "nan.csv"
    t = EPOCH_MS + 20_000
    path.write_text(f"t,temperature\n{t},1.5\n{t + 1},nan\n")
    assert "row 2, column 'temperature': nan must be a finite number" in refused("lab.push", path)
    path.write_text(f"t,temperature\n{t},1e301\n")
    assert "row 1, column 'temperature': 1e+301 must be from -1e300 to 1e300" in refused(
        "lab.push", path
    )


def test_it_refuses_empty_files(stream_with_history: Stream, tmp_path: Path) -> None:
    header_only = tmp_path / "header.csv"
    header_only.write_text("t,temperature\n")
    assert "holds no samples" in refused("lab.push", header_only)
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("")
    assert "is empty" in refused("lab.push", nothing)


def test_it_refuses_a_running_generated_stream(owner: Any, tmp_path: Path) -> None:
    make_stream("sine.test", kind="sine", owner=owner, running=True)
    path = tmp_path / "sine.csv"
    path.write_text(f"t,value\n{EPOCH_MS},1\n")
    assert "is running" in refused("sine.test", path)


def test_an_import_stopped_half_way_goes_on_with_skip_stored(owner: Any, tmp_path: Path) -> None:
    source = source_stream(owner, 100)
    path = tmp_path / "lab.parquet"
    parquet_export(source, path)
    target = make_stream("lab.copy", owner=owner, fields=FIELDS)
    check = history_import_check(target, path)
    stored = history_import(target, path, check, block_samples=30, should_stop=lambda: True)

    # One transaction: a block of 29 samples and the 30th as the stream's row.
    assert stored == 30
    assert [s[0] for s in everything(target)] == list(range(1, 31))
    assert list(Sample.objects.filter(stream=target).values_list("seq", flat=True)) == [30]
    message = refused("lab.copy", path)
    assert "already holds samples up to seq 30" in message and "--skip-stored" in message

    report = run_import("lab.copy", path, "--skip-stored")
    assert "Skipping 30 rows already stored (up to seq 30)" in report
    assert exact(everything(target)) == exact(everything(source))
    assert rollups_of(target, sum_digits=12) == rollups_of(source, sum_digits=12)


def rollups_of(stream: Stream, *, sum_digits: int | None = None) -> list[tuple[int, int, str]]:
    """Return a stream's rollup rows, each bucket's stats as JSON text.

    With `sum_digits`, float sums to that many significant digits: the import
    adds a bucket's floats in Arrow's order, which may differ in the last bits.
    """
    rows = Rollup.objects.filter(stream=stream).order_by("tier", "start")
    listed = []
    for tier, start, stats in rows.values_list("tier", "start", "stats"):
        for name, entry in stats.items():
            if sum_digits and name != "#flags" and isinstance(entry[2], float):
                entry[2] = float(f"{entry[2]:.{sum_digits}g}")
        listed.append((tier, start, json.dumps(stats, sort_keys=True)))
    return listed


def test_a_sample_stored_from_elsewhere_stops_the_import_before_its_next_block(
    owner: Any, tmp_path: Path
) -> None:
    source = source_stream(owner, 100)
    path = tmp_path / "lab.parquet"
    parquet_export(source, path)
    target = make_stream("lab.copy", owner=owner, fields=FIELDS)
    check = history_import_check(target, path)
    pushed: list[int] = []

    def push_after_the_first_block(count: int) -> None:
        if not pushed:  # a push takes the next seq after the fence: 31
            pushed.append(history_append({target.pk: [sample_frame(31, EPOCH_MS + 10**6, {})]}))

    with pytest.raises(ImportInterrupted, match=r"got a sample from elsewhere \(seq 31\)"):
        history_import(target, path, check, block_samples=30, progress=push_after_the_first_block)
    assert pushed == [1]
    stored = everything(target)
    assert [s[0] for s in stored] == list(range(1, 32))
    assert exact(stored[:30]) == exact(everything(source)[:30])


@pytest.mark.chaos
def test_an_import_killed_half_way_leaves_whole_blocks_and_goes_on(tmp_path: Path) -> None:
    database = tmp_path / "import.sqlite3"
    env = server_env(f"sqlite:///{database}")
    database_prepare(env, running=[])  # sine.1khz: stopped, no history
    total = 200_000
    path = tmp_path / "day.parquet"
    seqs = pa.array(range(1, total + 1), pa.int64())
    values = pa.array([seq / 1e6 for seq in range(1, total + 1)], pa.float64())
    pq.write_table(
        pa.table({"seq": seqs, "t": pa.array(range(total), pa.int64()), "value": values}), path
    )
    command = [PYTHON, "manage.py", "import", "sine.1khz", str(path), "--block-samples", "500"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while stored_counts(database)[0] < 5:
            assert process.poll() is None, "import ended before it was killed"
            assert time.monotonic() < deadline, "import wrote no blocks"
            time.sleep(0.02)
    finally:
        kill_process(process)
    blocks, rows, ranges = stored_counts(database)
    assert 5 <= blocks < total // 500, "killed half way"
    assert rows == 1
    # Whole blocks, seqs in order from 1, and the newest as the row after them.
    assert [first for first, _ in ranges] == [1] + [last + 1 for _, last in ranges[:-1]]

    report = run_manage(env, "import", "sine.1khz", str(path), "--skip-stored", "--quiet")
    assert f"Imported {total - ranges[-1][1]:,} samples" in report
    blocks, rows, ranges = stored_counts(database)
    assert ranges[0][0] == 1 and ranges[-1][1] == total
    assert [first for first, _ in ranges] == [1] + [last + 1 for _, last in ranges[:-1]]


def stored_counts(database: Path) -> tuple[int, int, list[tuple[int, int]]]:
    """Return the blocks and rows stored (read outside Django) and every seq range, in order."""
    with sqlite3.connect(database) as connection:
        blocks = connection.execute(
            "SELECT first_seq, last_seq, count FROM streams_sampleblock ORDER BY first_seq"
        ).fetchall()
        rows = [seq for (seq,) in connection.execute("SELECT seq FROM streams_sample")]
    assert all(count == last - first + 1 for first, last, count in blocks)
    ranges = sorted([(first, last) for first, last, _ in blocks] + [(seq, seq) for seq in rows])
    return len(blocks), len(rows), ranges


def test_it_warns_when_the_history_is_older_than_the_retention(owner: Any, tmp_path: Path) -> None:
    make_stream("lab.push", owner=owner, fields=[{"name": "temperature", "unit": ""}])
    path = tmp_path / "old.csv"
    path.write_text(f"t,temperature\n{EPOCH_MS},1\n")
    assert "older than lab.push's retention" in run_import("lab.push", path)


NAMED_LIKE_COLUMNS = [
    {"name": "time", "unit": "s"},
    {"name": "flags", "unit": "", "type": "text"},
    {"name": "value", "unit": ""},
]


@pytest.mark.parametrize("extension", ["csv", "parquet"])
def test_fields_named_like_the_fixed_columns_import_back(
    owner: Any, tmp_path: Path, extension: str
) -> None:
    source = make_stream("lab.named", owner=owner, fields=NAMED_LIKE_COLUMNS)
    history_append(
        {
            source.pk: [
                sample_frame(
                    seq,
                    EPOCH_MS + seq,
                    {"time": seq / 4, "flags": f"f{seq}", "value": -0.0 + seq / 8},
                    ["x"] if seq % 3 else [],
                )
                for seq in range(1, 41)
            ]
        }
    )
    body = exported(owner, source, extension)
    path = tmp_path / f"named.{extension}"
    path.write_bytes(body)
    target = make_stream("lab.named-copy", owner=owner, fields=NAMED_LIKE_COLUMNS)

    run_import("lab.named-copy", path)

    assert exact(everything(target)) == exact(everything(source))
    if extension == "csv":
        header = body.split(b"\r\n", 1)[0].decode()
        assert header == "seq,t,time,field:time,field:flags,value,flags"
