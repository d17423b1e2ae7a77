"""Reading stored samples after a seq: what a resume, a backfill and a hole cost.

A viewer that comes back after a blip asks for everything after the last seq it
had: a few seconds of the 1 kHz sine are thousands of rows, for every viewer of it.
`streams.history.samples.history_after` reads them with a plain cursor and
orjson; the baseline, measured in the same run on the same rows, is the ORM's
`values_list` with Django's JSONField decoding (how it read them before).

Run alone: .venv/bin/python bench/resume_reads.py [--dbs sqlite,postgres] [--rows 5000]
"""

from __future__ import annotations

import argparse
import json
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
    scratch_directory,
    table,
)

STORED = 20_000


def child(url: str, rows: int, repeat: int) -> dict[str, Any]:
    from common import migrated_with_stream

    stream = migrated_with_stream(url, "bench.resume")
    from streams.history.samples import history_after
    from streams.history.store import history_append
    from streams.messages import sample_frame
    from streams.models import Sample

    start_t = 1_700_000_000_000
    history_append(
        {
            stream.pk: [
                sample_frame(seq, start_t + seq, {"value": seq / 7}) for seq in range(1, STORED + 1)
            ]
        }
    )

    def through_orm(since: int) -> list[Any]:
        query = Sample.objects.filter(stream_id=stream.pk, seq__gt=since).order_by("seq")
        values = query.values_list("seq", "t", "values", "flags")[:rows]
        return [sample_frame(seq, t, data, flags) for seq, t, data, flags in values]

    def through_cursor(since: int) -> list[Any]:
        return history_after(stream.pk, since, limit=rows)

    if through_orm(0) != through_cursor(0):
        raise SystemExit("the two reads disagree")
    timings: dict[str, list[float]] = {"orm": [], "cursor": []}
    for attempt in range(repeat):
        since = attempt * 1000
        for name, read in (("orm", through_orm), ("cursor", through_cursor)):
            started = time.perf_counter()
            read(since)
            timings[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dbs", default="sqlite,postgres")
    parser.add_argument(
        "--rows", type=int, default=5000, help="rows per read (5 s of the 1 kHz sine)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="reads per way (median)")
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.rows, args.repeat)))
        return
    banner(f"Reads after a seq: {args.rows:,} rows, history_after vs the ORM's values_list")
    rows = []
    with scratch_directory() as directory:
        for database in each_database(args.dbs, directory):
            command = [
                PYTHON,
                __file__,
                "--child",
                database.url,
                "--rows",
                str(args.rows),
                "--repeat",
                str(args.repeat),
            ]
            out = child_result(command, timeout=600)
            db = database.kind
            per_row = {name: seconds / args.rows * 1e6 for name, seconds in out.items()}
            rows.append(
                [
                    db,
                    f"{out['orm'] * 1000:.1f}",
                    f"{out['cursor'] * 1000:.1f}",
                    f"{per_row['orm']:.2f}",
                    f"{per_row['cursor']:.2f}",
                    f"{out['orm'] / out['cursor']:.2f}×",
                ]
            )
    print(
        table(
            ["db", "ORM ms", "history_after ms", "ORM µs/row", "history_after µs/row", "faster"],
            rows,
        )
    )


if __name__ == "__main__":
    main()
