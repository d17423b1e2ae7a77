"""History write throughput: `history_append` (with rollups) against a raw executemany.

The producer stores every tick's samples with `streams.history.history_append`
(samples plus per-second and per-minute rollups, one transaction per call). This
measures samples/s persisted that way, in batches of --batches (default 50, one
50 ms tick of a 1 kHz stream, and 5,000, the seed and ingest batch), against the
baseline: a raw DB-API `executemany` of the same rows into the same table
(`streams_sample`) in one transaction, without rollups. On SQLite (a file of the
benchmark's own, WAL, as settings configure it) and on PostgreSQL (database
`pulseboard_bench`, created and dropped). Target: ratio ≥ 0.5.

Also printed: the time one `history_append` call takes (p50/p99) — with the
producer's store-then-publish order it is added to every sample's live latency.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PYTHON,
    banner,
    child_result,
    each_database,
    fmt,
    load_average,
    scratch_directory,
    table,
    uptime,
    verdict,
)


def samples_for(count: int, start_t: int) -> list[dict[str, Any]]:
    return [
        {
            "seq": i + 1,
            "t": start_t + i,
            "values": {"value": round(math.sin(2 * math.pi * (start_t + i) / 1000), 6)},
        }
        for i in range(count)
    ]


def reset_tables() -> None:
    from django.db import connection

    from streams.models import Rollup, Sample

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE streams_sample, streams_rollup")
        else:
            Sample.objects.all().delete()
            Rollup.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE streams_sample")
            cursor.execute("VACUUM ANALYZE streams_rollup")


def run_raw(stream_id: int, samples: list[dict[str, Any]]) -> float:
    """Baseline: one executemany of the rows in one transaction, on the raw connection."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    rows = [
        (stream_id, s["seq"], s["t"], json.dumps(s["values"]), json.dumps(s.get("flags", [])))
        for s in samples
    ]
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        sql = (
            'INSERT INTO streams_sample (stream_id, seq, t, "values", flags) '
            "VALUES (%s, %s, %s, %s::jsonb, %s::jsonb)"
        )
        with raw.transaction(), raw.cursor() as cursor:
            cursor.executemany(sql, rows)
    else:
        sql = (
            'INSERT INTO streams_sample (stream_id, seq, t, "values", flags) VALUES (?, ?, ?, ?, ?)'
        )
        raw.execute("BEGIN IMMEDIATE")
        raw.executemany(sql, rows)
        raw.execute("COMMIT")
    return time.perf_counter() - started


def run_append(stream_id: int, samples: list[Any], batch: int) -> tuple[float, list[float]]:
    from streams.history.store import history_append

    calls = []
    started = time.perf_counter()
    for offset in range(0, len(samples), batch):
        call = time.perf_counter()
        history_append({stream_id: samples[offset : offset + batch]})
        calls.append(time.perf_counter() - call)
    return time.perf_counter() - started, calls


def child(db: str, url: str, total: int, batches: list[int], profile: bool) -> dict[str, Any]:
    from common import migrated_with_stream

    stream = migrated_with_stream(url, "bench.ingest")
    from streams.models import Rollup, Sample

    start_t = (int(time.time() * 1000) // 60_000) * 60_000 - total
    samples = samples_for(total, start_t)
    results = []
    for batch in batches:
        # Alternate the two, twice each, on emptied tables; keep the faster of each.
        raw_times: list[float] = []
        append_times: list[float] = []
        calls_all: list[float] = []
        for _ in range(2):
            reset_tables()
            raw_times.append(run_raw(stream.pk, samples))
            assert Sample.objects.count() == total
            reset_tables()
            if profile and not append_times:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                profiler.start()
                elapsed, calls = run_append(stream.pk, samples, batch)
                profiler.stop()
                print(
                    profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr
                )
            else:
                elapsed, calls = run_append(stream.pk, samples, batch)
            append_times.append(elapsed)
            calls_all.extend(calls)
            assert Sample.objects.count() == total
            assert Rollup.objects.filter(tier=60_000).exists()
        calls_sorted = sorted(calls_all)
        results.append(
            {
                "db": db,
                "batch": batch,
                "samples": total,
                "raw_per_s": total / min(raw_times),
                "append_per_s": total / min(append_times),
                "call_p50_ms": 1000 * statistics.median(calls_sorted),
                "call_p99_ms": 1000 * calls_sorted[int(0.99 * (len(calls_sorted) - 1))],
                "load": load_average(),
            }
        )
    return {"results": results}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=100_000, help="rows per measurement")
    parser.add_argument("--batches", default="50,5000", help="history_append batch sizes")
    parser.add_argument("--dbs", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--profile", action="store_true", help="pyinstrument one history_append run per batch size"
    )
    parser.add_argument("--child", nargs=2, metavar=("DB", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    if args.child:
        out = child(args.child[0], args.child[1], args.samples, batches, args.profile)
        print("RESULT " + json.dumps(out))
        return
    banner("History writes: history_append (with rollups) vs raw executemany")
    rows = []
    with scratch_directory() as directory:
        for database in each_database(args.dbs, directory):
            command = [
                PYTHON,
                __file__,
                "--child",
                database.kind,
                database.url,
                "--samples",
                str(args.samples),
                "--batches",
                args.batches,
            ]
            if args.profile:
                command.append("--profile")
            rows.extend(child_result(command, timeout=1800, show_stderr=args.profile)["results"])
            print(f"   done: {database.kind}", flush=True)
    print(
        table(
            [
                "database",
                "batch",
                "raw executemany rows/s",
                "history_append samples/s",
                "ratio",
                "target ≥ 0.5",
                "append call p50 ms",
                "p99 ms",
                "load 1/5/15",
            ],
            [
                [
                    r["db"],
                    fmt(r["batch"]),
                    fmt(round(r["raw_per_s"])),
                    fmt(round(r["append_per_s"])),
                    f"{r['append_per_s'] / r['raw_per_s']:.2f}",
                    verdict(r["append_per_s"] / r["raw_per_s"] >= 0.5),
                    fmt(r["call_p50_ms"], 2),
                    fmt(r["call_p99_ms"], 2),
                    r["load"],
                ]
                for r in rows
            ],
        )
    )
    print(f"\n{args.samples:,} samples per measurement; the faster of two runs of each.")
    print(f"load at the end: {uptime()}")


if __name__ == "__main__":
    main()
