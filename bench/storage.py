"""History at rest: bytes per value and write/read rates of the block formats, on the demo's streams.

Runs the demo's sources on a past clock (no database) — the lab sensors (four
fields to 2 decimals), the 1 kHz sine (6 decimals), the anomaly detector (3
decimals and flags), the market (text, nested trades and books) — and cuts
their samples into blocks of --block samples. For each candidate it prints
bytes per value (sample × field), and the encode and decode rates in samples
a second, decode meaning back to Python samples as the reader hands them out:

- `rows (JSON)`: what one sample's `values` and `flags` text costs as a row
  today, before the row, its keys and the three indexes (the baseline);
- `parquet, plain floats`: Parquet + zstd, integers delta-packed, floats
  byte-stream-split;
- `parquet, decimal floats` (`streams/history/codec.py`, what blocks use):
  the same, with floats of few decimals kept as delta-packed integers;
- `arrow ipc + zstd`: Arrow's own file format, compressed buffers.

With `--database sqlite,postgres` it then stores --samples of the 1 kHz sine
and as many of two lab sensors sampled at 100 a second (three fields each)
through the product's write path (`history_append`, rollups included), runs
`manage.py compact --wait`, reclaims what the product's own upkeep reclaims
(SQLite: a WAL checkpoint and `VACUUM`; PostgreSQL: `VACUUM FULL` of the three
tables, a few times, keeping the smallest — the size plain `VACUUM`/autovacuum
reaches once freed pages are reused)
and prints bytes per value (sample × field) before and after, and where they go.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PYTHON,
    ROOT,
    banner,
    django_env,
    fmt,
    machine,
    pg_available,
    pg_create,
    pg_drop,
    scratch_directory,
    table,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# slug, kind, settings, seconds of history: the demo's streams of each shape.
SHAPES: list[tuple[str, str, dict[str, Any], int]] = [
    ("sensors.lab-1", "sensor", {}, 6 * 3600),
    ("sine.1khz", "sine", {"frequency": 1.0, "amplitude": 1.0, "rate": 1000}, 300),
    ("anomaly.demo", "anomaly", {}, 6 * 3600),
    ("price.BTC-USD", "market", {"symbol": "BTC-USD"}, 3600),
]
START_MS = 1_765_000_000_000

Samples = list[tuple[int, int, dict[str, Any], Any]]


def shape_samples(kind: str, settings: dict[str, Any], seconds: int, slug: str) -> Samples:
    """Return a source's samples over `seconds` of a past clock, as the demo makes its history."""
    from streams.sources import source_create

    source = source_create(kind, settings, rng=random.Random(slug))
    source.next_t = float(START_MS)  # type: ignore[attr-defined]  # a clocked source
    samples: Samples = []
    for step_end in range(START_MS, START_MS + seconds * 1000 + 1, 1000):
        for reading in source.poll(step_end):
            samples.append((len(samples) + 1, reading.t, reading.values, tuple(reading.flags)))
    return samples


def rows_json(block: Samples) -> bytes:
    from streams.jsontext import json_text

    return "".join(json_text(v) + json_text(list(f)) for _, _, v, f in block).encode()


def parquet_plain(block: Samples) -> bytes:
    """The codec's layout with every float kept as float64 (byte-stream-split)."""
    import pyarrow as pa

    from streams.history import codec

    table_ = pa.table(
        {
            "seq": pa.array([s[0] for s in block], type=pa.int64()),
            "t": pa.array([s[1] for s in block], type=pa.int64()),
            **_plain_fields(block),
        }
    )
    return codec.parquet_bytes(table_)


def _plain_fields(block: Samples) -> dict[str, Any]:
    import pyarrow as pa

    from streams.jsontext import json_text

    names = list(dict.fromkeys(name for _, _, values, _ in block for name in values))
    columns: dict[str, Any] = {}
    for name in names:
        cells = [values.get(name) for _, _, values, _ in block]
        if all(isinstance(c, float) for c in cells):
            columns[name] = pa.array(cells, type=pa.float64())
        else:
            columns[name] = pa.array([json_text(c) for c in cells], type=pa.string())
    columns["flags"] = pa.array([list(f) or None for *_, f in block], type=pa.list_(pa.string()))
    return columns


def arrow_ipc(block: Samples) -> bytes:
    import pyarrow as pa

    table_ = pa.table(
        {
            "seq": pa.array([s[0] for s in block], type=pa.int64()),
            "t": pa.array([s[1] for s in block], type=pa.int64()),
            **_plain_fields(block),
        }
    )
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_file(sink, table_.schema, options=options) as writer:
        writer.write_table(table_)
    return sink.getvalue()


def decode_codec(data: bytes) -> int:
    from streams.history.codec import block_samples, block_table

    return len(block_samples(block_table(data)))


def decode_parquet(data: bytes) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return len(pq.read_table(pa.BufferReader(data)).to_pylist())


def decode_ipc(data: bytes) -> int:
    import pyarrow as pa

    return len(pa.ipc.open_file(pa.BufferReader(data)).read_all().to_pylist())


def decode_json(data: bytes) -> int:
    return len(data)  # rows are read by the database; not timed here


CANDIDATES: list[tuple[str, Callable[[Samples], bytes], Callable[[bytes], int]]] = [
    ("rows (JSON text only)", rows_json, decode_json),
    ("parquet, plain floats", parquet_plain, decode_parquet),
    ("parquet, decimal floats", lambda block: _codec_encode(block), decode_codec),
    ("arrow ipc + zstd", arrow_ipc, decode_ipc),
]


def _codec_encode(block: Samples) -> bytes:
    from streams.history.codec import block_encode

    return block_encode(block)


def formats(block_size: int) -> None:
    import django

    django.setup()
    banner(f"Block formats: blocks of {block_size:,} samples")
    rows = []
    for slug, kind, settings, seconds in SHAPES:
        samples = shape_samples(kind, settings, seconds, slug)
        fields = len({name for _, _, values, _ in samples for name in values})
        blocks = [samples[i : i + block_size] for i in range(0, len(samples), block_size)]
        for name, encode, decode in CANDIDATES:
            began = time.perf_counter()
            datas = [encode(block) for block in blocks]
            encoded = time.perf_counter() - began
            began = time.perf_counter()
            for data in datas:
                decode(data)
            decoded = time.perf_counter() - began
            size = sum(len(data) for data in datas)
            timed = decode is not decode_json
            rows.append(
                [
                    slug,
                    f"{len(samples):,} × {fields}",
                    name,
                    fmt(size / (len(samples) * fields), 2),
                    fmt(len(samples) / encoded / 1000, 0) if timed else "–",
                    fmt(len(samples) / decoded / 1000, 0) if timed else "–",
                ]
            )
    print(table(["stream", "samples × fields", "format", "B/value", "write k/s", "read k/s"], rows))


LAB_FIELDS = [
    {"name": n, "unit": "", "type": "number"} for n in ("temperature", "humidity", "pressure")
]


def at_rest_child(samples: int) -> dict[str, Any]:
    """In a migrated database: store, measure, compact, reclaim, measure (run in a child)."""
    import django

    django.setup()
    from django.core.management import call_command

    from streams.history.store import history_append
    from streams.messages import sample_frame
    from streams.models import SourceKind, Stream

    shapes = [
        ("bench.sine", "sine", {"frequency": 1.0, "amplitude": 1.0, "rate": 1000}, 1),
        ("bench.lab-1", "sensor", {}, 10),
        ("bench.lab-2", "sensor", {}, 10),
    ]
    values = 0
    for slug, kind, settings, step_ms in shapes:
        stream = Stream.objects.create(
            slug=slug, title=slug, source_kind=SourceKind.PUSH, running=False
        )
        if kind == "sine":
            made = shape_samples(kind, settings, samples // 1000, slug)[:samples]
        else:  # a lab sensor's walk, sampled at 100 a second
            made = _sensor_walk(slug, samples)
        batch = []
        for seq, (_, _, reading, flags) in enumerate(made, 1):
            batch.append(sample_frame(seq, START_MS + seq * step_ms, reading, flags))
            if len(batch) == 5000:
                history_append({stream.pk: batch})
                batch = []
        if batch:
            history_append({stream.pk: batch})
        values += sum(len(v) for _, _, v, _ in made)
    result = {"values": values, "rows": _sizes()}
    call_command(
        "compact", "--wait", "--hot-seconds", "0", stdout=io.StringIO(), stderr=io.StringIO()
    )
    result["blocks"] = _sizes()
    return result


def _sensor_walk(slug: str, count: int) -> Samples:
    from streams.sources.base import bounded_walk
    from streams.sources.sensor import RANGES

    rng = random.Random(slug)
    state = {name: rng.uniform(low, high) for name, (low, high, _) in RANGES.items()}
    made: Samples = []
    for seq in range(1, count + 1):
        for name, (low, high, step) in RANGES.items():
            state[name] = bounded_walk(rng, state[name], step / 10, low, high)
        made.append((seq, 0, {name: round(value, 2) for name, value in state.items()}, ()))
    return made


TABLES = ("streams_sample", "streams_sampleblock", "streams_rollup")
VACUUM_TRIES = 6


def _sizes() -> dict[str, int]:
    """Bytes of the history tables (indexes and TOAST included) once reclaimed, and the total."""
    from django.db import connection

    sizes: dict[str, int] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("VACUUM")
            for table in TABLES:
                cursor.execute(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN"
                    " (SELECT name FROM sqlite_master WHERE tbl_name = %s AND type = 'index')",
                    [table, table],
                )
                sizes[table] = int(cursor.fetchone()[0] or 0)
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            sizes["database"] = pages * cursor.fetchone()[0]
        else:
            for table in TABLES:
                # A transaction open anywhere on the server (others' tests) keeps deleted
                # rows from being reclaimed; the smallest of a few tries is the table's size.
                tries = []
                for _ in range(VACUUM_TRIES):
                    cursor.execute(f"VACUUM FULL ANALYZE {table}")
                    cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                    tries.append(int(cursor.fetchone()[0]))
                    time.sleep(0.5)
                sizes[table] = min(tries)
            cursor.execute("SELECT pg_database_size(current_database())")
            sizes["database"] = int(cursor.fetchone()[0])
    return sizes


def at_rest(kinds: str, samples: int) -> None:
    """Print what each database holds per value, as rows and once compacted."""
    banner(f"At rest: {samples:,} samples each of the 1 kHz sine and two lab sensors at 100/s")
    rows = []
    with scratch_directory() as directory:
        for kind, url in _databases(kinds, directory):
            env = django_env(url)
            subprocess.run(
                [PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
            )
            empty = _child(env, 0)
            result = _child(env, samples)
            values = result["values"]
            for stage in ("rows", "blocks"):
                sizes = result[stage]
                history = sum(sizes[t] - empty["rows"][t] for t in TABLES)
                where = ", ".join(
                    f"{t.removeprefix('streams_')} {(sizes[t] - empty['rows'][t]) / values:.2f}"
                    for t in TABLES
                )
                rows.append([kind, stage, f"{values:,}", fmt(history / values, 2), where])
    print(table(["database", "stored as", "values", "B/value", "where (B/value)"], rows))


# A database of its own: other benchmarks recreate `pulseboard_bench` as they start.
PG_STORAGE_DB = "pulseboard_bench_storage"


def _databases(kinds: str, directory: Path) -> Iterator[tuple[str, str]]:
    """Yield (kind, URL) of a scratch database of each kind, dropped after it."""
    for kind in [name.strip() for name in kinds.split(",")]:
        if kind == "sqlite":
            yield kind, f"sqlite:///{directory / 'storage.sqlite3'}"
        elif kind == "postgres" and pg_available():
            try:
                yield kind, pg_create(PG_STORAGE_DB)
            finally:
                pg_drop(PG_STORAGE_DB)
        else:
            print(f"{kind}: not available; skipped.")


def _child(env: dict[str, str], samples: int) -> dict[str, Any]:
    command = [PYTHON, __file__, "--child", "--samples", str(samples)]
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, timeout=7200, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", type=int, default=16_384, help="samples a block")
    parser.add_argument("--database", default="", help="sqlite,postgres: bytes at rest")
    parser.add_argument("--samples", type=int, default=1_000_000, help="samples of each stream")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import django

        django.setup()
        print(
            "RESULT "
            + json.dumps(at_rest_child(args.samples) if args.samples else {"rows": _sizes()})
        )
        return
    print(machine())
    formats(args.block)
    if args.database:
        at_rest(args.database, args.samples)


if __name__ == "__main__":
    main()
