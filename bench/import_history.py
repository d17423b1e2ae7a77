"""History import throughput: `manage.py import` of a day of 1 kHz, from CSV and from Parquet.

Writes a file of --samples samples (default 86.4 M: a day of a 1 kHz stream)
in the export's columns (seq, t, time, value, flags; the value a sine to six
decimals, as the demo's), once as CSV and once as Parquet, then imports each
into a new stream of a scratch SQLite database with what the command runs
(`history_import_check`, then `history_import`: every block and its rollups
written). Printed per format: samples/s of the whole import and of each pass,
against the baseline measured in the same run: pyarrow reading the same file
alone (its streaming reader, the whole file, types inferred); and samples per
CPU second of the import's process (all its threads), which a machine busy
with other work changes less than the wall-clock rate.
Target: ≥ 1 M samples/s.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Database,
    banner,
    fmt,
    load_average,
    migrated_with_stream,
    scratch_directory,
    table,
    uptime,
    verdict,
)

TARGET_PER_SECOND = 1_000_000
DAY_START_MS = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
WRITE_ROWS = 1_000_000  # rows generated and written at a time


def day_batches(samples: int) -> Any:
    """Yield the benchmark's samples as Arrow tables, WRITE_ROWS at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for offset in range(0, samples, WRITE_ROWS):
        count = min(WRITE_ROWS, samples - offset)
        ones = pa.repeat(pa.scalar(1, pa.int64()), count)
        seq = pc.add(pc.cumulative_sum(ones), offset)
        t = pc.add(seq, DAY_START_MS - 1)
        phase = pc.multiply(pc.cast(t, pa.float64()), 2 * math.pi / 1000)
        yield pa.table(
            {
                "seq": seq,
                "t": t,
                "time": pc.cast(t, pa.timestamp("ms", tz="UTC")),
                "value": pc.round(pc.sin(phase), 6),
                "flags": pa.repeat(pa.scalar("", pa.string()), count),
            }
        )


def write_files(directory: Path, samples: int) -> dict[str, Path]:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    paths = {"csv": directory / "day.csv", "parquet": directory / "day.parquet"}
    csv_writer = parquet_writer = None
    for batch in day_batches(samples):
        if csv_writer is None:
            csv_writer = pacsv.CSVWriter(paths["csv"], batch.schema)
            parquet_writer = pq.ParquetWriter(paths["parquet"], batch.schema, compression="zstd")
        csv_writer.write_table(batch)
        assert parquet_writer is not None
        parquet_writer.write_table(batch, row_group_size=WRITE_ROWS)
    if csv_writer is not None and parquet_writer is not None:
        csv_writer.close()
        parquet_writer.close()
    return paths


def read_alone(path: Path) -> float:
    """Baseline: seconds pyarrow's streaming reader takes to read the whole file, types inferred."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    started = time.perf_counter()
    if path.suffix == ".csv":
        batches: Any = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=16 << 20))
    else:
        batches = pq.ParquetFile(path).iter_batches(batch_size=65_536)
    rows = sum(batch.num_rows for batch in batches)
    seconds = time.perf_counter() - started
    assert rows > 0
    return seconds


def import_once(slug: str, path: Path) -> dict[str, float]:
    from streams.models import Stream
    from streams.producer.imports import history_import, history_import_check

    stream = Stream.objects.create(
        slug=slug, title=slug, source_kind="push", fields=[{"name": "value", "unit": ""}]
    )
    began, cpu = time.perf_counter(), time.process_time()
    check = history_import_check(stream, path)
    checked = time.perf_counter()
    stored = history_import(stream, path, check)
    done = time.perf_counter()
    assert stored == check.samples
    return {
        "check": checked - began,
        "write": done - checked,
        "total": done - began,
        "cpu": time.process_time() - cpu,  # every thread's, the reading thread's too
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=86_400_000, help="samples per file")
    parser.add_argument("--keep", action="store_true", help="keep the files and the database")
    args = parser.parse_args()
    banner(f"History import: {args.samples:,} samples of 1 kHz from CSV and Parquet")
    rows = []
    with scratch_directory(keep=args.keep) as directory:
        began = time.perf_counter()
        paths = write_files(directory, args.samples)
        print(f"   files written in {time.perf_counter() - began:.0f} s", flush=True)
        database = Database("sqlite", directory, keep=args.keep)
        migrated_with_stream(database.url, "bench.unused")
        for kind, path in paths.items():
            baseline = read_alone(path)
            times = import_once(f"bench.{kind}", path)
            rows.append(
                {
                    "format": kind,
                    "bytes": path.stat().st_size,
                    "read_per_s": args.samples / baseline,
                    "check_per_s": args.samples / times["check"],
                    "write_per_s": args.samples / times["write"],
                    "import_per_s": args.samples / times["total"],
                    "per_cpu_s": args.samples / times["cpu"],
                    "load": load_average(),
                }
            )
            print(f"   done: {kind}", flush=True)
        database.drop()
    print(
        table(
            [
                "format",
                "file MB",
                "pyarrow read alone samples/s",
                "import samples/s",
                "ratio",
                "target ≥ 1 M/s",
                "check pass /s",
                "write pass /s",
                "per CPU second",
                "load 1/5/15",
            ],
            [
                [
                    r["format"],
                    fmt(r["bytes"] / 1e6, 0),
                    fmt(round(r["read_per_s"])),
                    fmt(round(r["import_per_s"])),
                    f"{r['import_per_s'] / r['read_per_s']:.2f}",
                    verdict(r["import_per_s"] >= TARGET_PER_SECOND),
                    fmt(round(r["check_per_s"])),
                    fmt(round(r["write_per_s"])),
                    fmt(round(r["per_cpu_s"])),
                    r["load"],
                ]
                for r in rows
            ],
        )
    )
    print(f"\n{args.samples:,} samples per file, SQLite; one run each.")
    print(f"load at the end: {uptime()}")


if __name__ == "__main__":
    main()
