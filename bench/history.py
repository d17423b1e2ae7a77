"""History over long ranges: a day of 1 kHz (86.4 million samples) in bounded time.

Seeds one stream (`bench.day`, a 1 Hz sine sampled at 1 kHz) with --scale × one
day of samples ending at the last whole minute, plus its per-second and
per-minute rollups, written directly (executemany on SQLite, COPY on PostgreSQL,
indexes dropped during the load and rebuilt after), with a progress bar. With
--layout blocks (the default) the samples are stored as compaction leaves them:
all but the last ten minutes (the hot tail) in blocks of 16,384 written by the
product's codec, the rest as rows; --layout rows keeps every sample a row. With
--reuse the seeded database is kept and used again by later runs with the same
--scale and --layout (SQLite: bench/.cache/; PostgreSQL: the `pulseboard_bench`
database).

Then, on each database:
- `streams.history.query.history_buckets(points=1000)` in-process over the whole range,
  the last hour and the last minute: median (and first, cold) of --repeat runs;
- the same three over HTTP, `GET /api/streams/bench.day/history`, against
  `manage.py serve --no-producer` on that database;
- streamed exports of the whole range, `GET /api/streams/bench.day/export.csv`
  and then `export.parquet`: samples/s, bytes, and the server's peak RSS growth
  while streaming, after a one-minute export of the same format (it must stay
  flat whatever the size of the data); each bounded
  by --export-seconds (a Parquet file cut short has no footer, so its samples
  are counted only when it is read whole, then checked with pyarrow);
- the admin's sample list, in-process through Django's test client: its first
  page, the page in the middle of the stream (by its keyset position), filtered
  by stream, and by the last hour; against, as the baseline in the same run,
  what Django's stock list did there (a COUNT of the rows and an OFFSET page).
  Target: every page ≤ 200 ms.

Targets: the whole range within 2× the one-minute query, and under 100 ms (they
are about a day at --scale 1; at the quick default the "whole range" is 72 minutes);
the CSV export at ≥ 1 M samples/s; export RSS growth < 32 MiB.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BENCH,
    PG_BENCH_DB,
    PYTHON,
    Database,
    Gauge,
    PeakRss,
    PulseboardServer,
    banner,
    child_result,
    fmt,
    load_average,
    mib,
    pg_available,
    pg_create,
    pg_exists,
    pg_url,
    scratch_directory,
    table,
    uptime,
    verdict,
)

SLUG = "bench.day"
DAY_MS = 86_400_000
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
RATE = 1000  # samples per second
CHUNK = 1_000_000  # rows per progress step
HOT_MS = 600_000  # the hot tail compaction leaves as rows (PULSEBOARD_HISTORY_HOT_SECONDS)
BLOCK_SAMPLES = 16_384  # compaction's block size
EXPORT_TARGET = 1_000_000  # CSV samples/s
MARKER = "bench_history_seed"
CACHE = BENCH / ".cache"


# -- the data -----------------------------------------------------------------


def sine_texts() -> list[str]:
    """The JSON `values` of each millisecond of a second (a 1 Hz sine repeats every second)."""
    return [
        json.dumps({"value": round(math.sin(2 * math.pi * (ms / 1000)), 6)}, separators=(",", ":"))
        for ms in range(1000)
    ]


def second_stats() -> list[float]:
    """[min, max, sum, count] of one whole second, summed in sample order as rollups do."""
    values = [round(math.sin(2 * math.pi * (ms / 1000)), 6) for ms in range(1000)]
    total = 0.0
    for value in values:
        total += value
    return [min(values), max(values), total, 1000]


def rollup_rows(stream_id: int, start: int, end: int) -> list[tuple[int, int, int, str]]:
    low, high, total, count = second_stats()
    second = json.dumps({"value": [low, high, total, count]})
    minute = json.dumps({"value": [low, high, total * 60, count * 60]})
    rows = [(stream_id, 1000, t, second) for t in range(start, end, 1000)]
    rows += [(stream_id, MINUTE_MS, t, minute) for t in range(start, end, MINUTE_MS)]
    return rows


def span_for(scale: float) -> int:
    return max(MINUTE_MS, round(DAY_MS * scale / MINUTE_MS) * MINUTE_MS)


# -- seeding (in the child, with Django set up) --------------------------------


def marker_read(url: str) -> dict[str, Any] | None:
    """The seed description stored in a database, if it was seeded by this benchmark."""
    try:
        if url.startswith("sqlite"):
            path = url.split("sqlite:///", 1)[1]
            if not Path(path).exists():
                return None
            with sqlite3.connect(path) as connection:
                row = connection.execute(f"SELECT info FROM {MARKER}").fetchone()
        else:
            import psycopg

            with psycopg.connect(url) as connection:
                row = connection.execute(f"SELECT info FROM {MARKER}").fetchone()
    except Exception:
        return None
    return json.loads(row[0]) if row else None


def seed(span: int, scale: float, layout: str) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from streams.models import Stream

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed", "--no-history", verbosity=0)
    stream, _ = Stream.objects.update_or_create(
        slug=SLUG,
        defaults={
            "title": "A day at 1 kHz",
            "source_kind": "push",
            "fields": [{"name": "value", "unit": ""}],
            "owner": get_user_model().objects.get(username="demo"),
            "is_public": True,
            "running": False,
            "retention_seconds": 400 * 86400,
        },
    )
    end = (int(time.time() * 1000) // MINUTE_MS) * MINUTE_MS
    start = end - span
    rows = span * RATE // 1000
    in_blocks = max(0, rows - HOT_MS * RATE // 1000) if layout == "blocks" else 0
    started = time.monotonic()
    if connection.vendor == "postgresql":
        seed_postgres(stream.pk, start, rows, in_blocks)
    else:
        seed_sqlite(stream.pk, start, rows, in_blocks)
    seed_blocks(stream.pk, start, in_blocks)
    info = {
        "slug": SLUG,
        "stream_id": stream.pk,
        "start": start,
        "end": end,
        "rows": rows,
        "in_blocks": in_blocks,
        "scale": scale,
        "layout": layout,
        "seed_seconds": time.monotonic() - started,
    }
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (info TEXT)")
        cursor.execute(f"DELETE FROM {MARKER}")
        cursor.execute(f"INSERT INTO {MARKER} (info) VALUES (%s)", [json.dumps(info)])
    return info


def progress(total: int, what: str) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, unit=" rows", unit_scale=True, desc=what, file=sys.stderr, mininterval=1
    )


def seed_blocks(stream_id: int, start: int, count: int) -> None:
    """Store samples 1..count as compaction would: blocks of 16,384, encoded by the codec."""
    from django.db import connection, transaction

    from streams.history.codec import block_encode

    values = [{"value": json.loads(text)["value"]} for text in sine_texts()]
    sql = (
        "INSERT INTO streams_sampleblock"
        " (stream_id, first_seq, last_seq, first_t, last_t, count, size, data)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM streams_sampleblock WHERE stream_id = %s", [stream_id])
    with progress(count, "seed blocks") as bar:
        for first in range(0, count, BLOCK_SAMPLES):
            last = min(count, first + BLOCK_SAMPLES)
            samples = [
                (i + 1, start + i, values[(start + i) % 1000], ()) for i in range(first, last)
            ]
            data = block_encode(samples)
            row = [stream_id, first + 1, last, start + first, start + last - 1, last - first]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [*row, len(data), data])
            bar.update(last - first)


def seed_sqlite(stream_id: int, start: int, rows: int, in_blocks: int) -> None:
    from django.db import connection

    connection.ensure_connection()
    raw: sqlite3.Connection = connection.connection
    raw.isolation_level = None
    texts = sine_texts()
    indexes = [
        (name, sql)
        for name, sql in raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'streams_sample' "
            "AND sql IS NOT NULL"
        )
    ]
    raw.execute("PRAGMA journal_mode=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-1000000")
    raw.execute("DELETE FROM streams_sample WHERE stream_id = ?", [stream_id])
    raw.execute("DELETE FROM streams_rollup WHERE stream_id = ?", [stream_id])
    for name, _ in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    sql = 'INSERT INTO streams_sample (stream_id, seq, t, "values", flags) VALUES (?, ?, ?, ?, ?)'
    with progress(rows - in_blocks, "seed SQLite") as bar:
        for first in range(in_blocks, rows, CHUNK):
            last = min(rows, first + CHUNK)
            raw.execute("BEGIN")
            raw.executemany(
                sql,
                (
                    (stream_id, i + 1, start + i, texts[(start + i) % 1000], "[]")
                    for i in range(first, last)
                ),
            )
            raw.execute("COMMIT")
            bar.update(last - first)
    print("rebuilding indexes …", file=sys.stderr, flush=True)
    for _, index_sql in indexes:
        raw.execute(index_sql)
    raw.executemany(
        "INSERT INTO streams_rollup (stream_id, tier, start, stats) VALUES (?, ?, ?, ?)",
        rollup_rows(stream_id, start, start + rows),
    )
    raw.execute("ANALYZE")
    raw.execute("PRAGMA journal_mode=WAL")


def seed_postgres(stream_id: int, start: int, rows: int, in_blocks: int) -> None:
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    raw.autocommit = True
    texts = sine_texts()
    with raw.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers per row
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("DELETE FROM streams_sample WHERE stream_id = %s", [stream_id])
        cursor.execute("DELETE FROM streams_rollup WHERE stream_id = %s", [stream_id])
        constraints = cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'streams_sample'::regclass AND contype = 'u'"
        ).fetchall()
        for name, _ in constraints:
            cursor.execute(f'ALTER TABLE streams_sample DROP CONSTRAINT "{name}"')
        indexes = cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'streams_sample' "
            "AND indexname NOT LIKE '%%_pkey'"
        ).fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        with progress(rows - in_blocks, "seed PostgreSQL") as bar:
            for first in range(in_blocks, rows, CHUNK):
                last = min(rows, first + CHUNK)
                with cursor.copy(
                    'COPY streams_sample (stream_id, seq, t, "values", flags) FROM STDIN'
                ) as copy:
                    step = 100_000
                    for low in range(first, last, step):
                        high = min(last, low + step)
                        copy.write(
                            "".join(
                                f"{stream_id}\t{i + 1}\t{start + i}\t{texts[(start + i) % 1000]}\t[]\n"
                                for i in range(low, high)
                            )
                        )
                bar.update(last - first)
        print("rebuilding indexes …", file=sys.stderr, flush=True)
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE streams_sample ADD CONSTRAINT "{name}" {definition}')
        cursor.executemany(
            "INSERT INTO streams_rollup (stream_id, tier, start, stats) VALUES (%s, %s, %s, %s::jsonb)",
            rollup_rows(stream_id, start, start + rows),
        )
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("VACUUM ANALYZE streams_sample")
        cursor.execute("ANALYZE streams_rollup")


def ranges(info: dict[str, Any]) -> list[tuple[str, int, int]]:
    end = info["end"]
    whole = end - info["start"]
    name = "whole day" if whole == DAY_MS else f"whole range ({whole // MINUTE_MS} min)"
    return [
        (name, info["start"], end),
        ("last hour", max(info["start"], end - HOUR_MS), end),
        ("last minute", end - MINUTE_MS, end),
    ]


def query_times(info: dict[str, Any], repeat: int, points: int) -> list[dict[str, Any]]:
    from django.db import connection

    from streams.history.query import history_buckets

    out = []
    for name, start, end in ranges(info):
        times = []
        answer = None
        for _ in range(repeat):
            began = time.perf_counter()
            answer = history_buckets(info["stream_id"], start, end, points)
            times.append(time.perf_counter() - began)
        assert answer is not None
        out.append(
            {
                "range": name,
                "tier": answer.tier,
                "buckets": len(answer.t),
                "first_ms": 1000 * times[0],
                "median_ms": 1000 * statistics.median(times),
            }
        )
    connection.close()
    return out


ADMIN_PAGE = 100  # rows per page of the admin's sample list (Django's default)


def admin_times(info: dict[str, Any], repeat: int) -> list[dict[str, Any]]:
    """Time pages of /admin/streams/sample/ and, as the baseline, Django's stock COUNT + OFFSET."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from streams.models import Sample

    User = get_user_model()
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        "bench-admin", "bench@example.com", "bench-admin"
    )
    client = Client()
    client.force_login(admin)
    stream_id, rows = info["stream_id"], info["rows"]
    middle = f"{stream_id}.{rows // 2}"
    pages = [
        ("first page", ""),
        ("page in the middle", f"?after={middle}"),
        ("one stream", f"?stream__id__exact={stream_id}"),
        ("one stream, middle", f"?stream__id__exact={stream_id}&after={middle}"),
        ("last hour", "?within=1h"),
    ]

    def timed(call: Any) -> tuple[float, float]:
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
        return 1000 * times[0], 1000 * statistics.median(times)

    out = []
    for name, query in pages:

        def get(query: str = query) -> None:
            response = client.get(f"/admin/streams/sample/{query}", HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, response.status_code

        first, median = timed(get)
        out.append({"page": name, "first_ms": first, "median_ms": median})
    # The baseline: what the stock list paid for the same middle page.
    stock = Sample.objects.filter(stream_id=stream_id).order_by("-t")

    def stock_page() -> None:
        stock.count()
        offset = (rows // 2) // ADMIN_PAGE * ADMIN_PAGE
        list(stock.values_list("seq", "t", "values", "flags")[offset : offset + ADMIN_PAGE])

    first, median = timed(stock_page)
    out.append({"page": "baseline: COUNT + OFFSET, middle", "first_ms": first, "median_ms": median})
    connection.close()
    return out


def seeded_as(info: dict[str, Any] | None, scale: float, layout: str) -> bool:
    """Return whether a seed description is of this scale and layout (rows before layouts)."""
    return info is not None and (info.get("scale"), info.get("layout", "rows")) == (scale, layout)


def child(
    url: str, span: int, scale: float, repeat: int, points: int, reuse: bool, layout: str
) -> None:
    from common import setup_django

    setup_django(url)
    info = marker_read(url) if reuse else None
    if info is None or not seeded_as(info, scale, layout):
        info = seed(span, scale, layout)
        info["seeded_now"] = True
    info["queries"] = query_times(info, repeat, points)
    info["admin"] = admin_times(info, repeat)
    print("RESULT " + json.dumps(info), flush=True)


# -- the parent ---------------------------------------------------------------


def http_times(
    server: PulseboardServer, info: dict[str, Any], repeat: int, points: int
) -> list[dict[str, Any]]:
    out = []
    for name, start, end in ranges(info):
        url = f"{server.base_url}/api/streams/{SLUG}/history?from={start}&to={end}&points={points}"
        request = urllib.request.Request(url, headers={"Authorization": f"Token {server.token}"})
        times, size = [], 0
        for _ in range(repeat):
            began = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as response:
                size = len(response.read())
            times.append(time.perf_counter() - began)
        out.append(
            {
                "range": name,
                "first_ms": 1000 * times[0],
                "median_ms": 1000 * statistics.median(times),
                "bytes": size,
            }
        )
    return out


def export_run(
    server: PulseboardServer, info: dict[str, Any], limit: float, extension: str, directory: Path
) -> dict[str, Any]:
    """Read the whole range's export as a script would; count its samples, time it, watch RSS.

    A one-minute export of the same format goes first, unmeasured: the first one
    loads what any export needs once (Arrow's kernels, the thread), which is no
    growth with the size of the range.
    """
    url = f"{server.base_url}/api/streams/{SLUG}/export.{extension}?from={info['start']}"
    headers = {"Authorization": f"Token {server.token}"}
    warm_up = urllib.request.Request(f"{url}&to={info['start'] + MINUTE_MS}", headers=headers)
    cold = Gauge(server.pid).rss()
    with urllib.request.urlopen(warm_up, timeout=60) as response:
        response.read()
    request = urllib.request.Request(f"{url}&to={info['end']}", headers=headers)
    received = lines = 0
    complete = True
    path = directory / f"export.{extension}"
    with PeakRss(server.pid) as rss, path.open("wb") as file:
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as response:
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                received += len(chunk)
                if extension == "csv":
                    lines += chunk.count(b"\n")
                else:
                    file.write(chunk)
                if limit and time.perf_counter() - began > limit:
                    complete = False
                    break
        elapsed = time.perf_counter() - began
    if extension == "csv":
        samples: int | None = max(0, lines - 1)
    else:
        samples = parquet_samples(path) if complete else None
    path.unlink()
    return {
        "format": extension,
        "rows": samples,
        "bytes": received,
        "seconds": elapsed,
        "complete": complete,
        "rss_cold": cold,
        "rss_start": rss.start,
        "rss_peak": rss.peak,
        "rows_per_s": samples / elapsed if samples and elapsed else float("nan"),
        "projected_bytes": received / samples * info["rows"] if samples else float("nan"),
    }


def parquet_samples(path: Path) -> int:
    """Return how many samples a Parquet export holds, after pyarrow has read every column."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    for group in range(file.num_row_groups):
        file.read_row_group(group)
    return int(file.metadata.num_rows)


def run_database(
    kind: str, args: argparse.Namespace, span: int, directory: Path
) -> dict[str, Any] | None:
    if kind == "postgres":
        if not pg_available():
            print("PostgreSQL is not reachable; skipped.")
            return None
        url = pg_url(PG_BENCH_DB)
        cached = args.reuse and pg_exists(PG_BENCH_DB) and marker_read(url)
        if not (cached and seeded_as(cached, args.scale, args.layout)):
            pg_create()
        database = Database("postgres", directory, url=url, keep=args.reuse)
    else:
        if args.reuse:
            CACHE.mkdir(exist_ok=True)
            layout = "" if args.layout == "rows" else f"-{args.layout}"
            path = CACHE / f"history-scale-{args.scale:g}{layout}.sqlite3"
        else:
            path = directory / "history.sqlite3"
        database = Database("sqlite", directory, url=f"sqlite:///{path}", keep=args.reuse)
    try:
        command = [
            PYTHON, __file__, "--child", database.url, "--scale", str(args.scale),
            "--repeat", str(args.repeat), "--points", str(args.points),
            "--layout", args.layout,
        ]  # fmt: skip
        if args.reuse:
            command.append("--reuse")
        info = child_result(command, timeout=7200, show_stderr=True)
        info["db"] = kind
        info["load"] = load_average()
        server = PulseboardServer(database, log_dir=directory, producer=False)
        server.prepare()
        with server:
            info["http"] = http_times(server, info, args.repeat, args.points)
            if args.export_seconds >= 0:
                info["exports"] = [
                    export_run(server, info, args.export_seconds, extension, directory)
                    for extension in ("csv", "parquet")
                ]
        info["size"] = database_size(database)
        return info
    finally:
        database.drop()


def database_size(database: Database) -> int:
    if database.kind == "sqlite":
        return sum(
            Path(str(database.path) + suffix).stat().st_size
            for suffix in ("", "-wal")
            if Path(str(database.path) + suffix).exists()
        )
    import psycopg

    with psycopg.connect(database.url) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def report(results: list[dict[str, Any]]) -> None:
    rows = []
    for info in results:
        http = {h["range"]: h for h in info["http"]}
        for q in info["queries"]:
            h = http.get(q["range"], {})
            rows.append(
                [
                    info["db"],
                    q["range"],
                    q["tier"],
                    q["buckets"],
                    fmt(q["median_ms"]),
                    fmt(q["first_ms"]),
                    fmt(h.get("median_ms", float("nan"))),
                    fmt(h.get("bytes", 0)),
                    info["load"],
                ]
            )
    print(
        table(
            [
                "database",
                "range",
                "tier",
                "buckets",
                "history_buckets median ms",
                "first ms",
                "HTTP median ms",
                "HTTP bytes",
                "load 1/5/15",
            ],
            rows,
        )
    )
    print()
    export_rows = []
    for info in results:
        for e in info.get("exports", []):
            export_rows.append(
                [
                    info["db"],
                    e["format"],
                    ("–" if e["rows"] is None else fmt(e["rows"]))
                    + ("" if e["complete"] else " (time limit)"),
                    mib(e["bytes"]),
                    fmt(e["seconds"]),
                    fmt(round(e["rows_per_s"])) if e["rows"] else "–",
                    mib(e["rss_cold"]),
                    mib(e["rss_start"]),
                    mib(e["rss_peak"]),
                    mib(e["rss_peak"] - e["rss_start"]),
                    f"{mib(e['projected_bytes'])} MiB for all {info['rows']:,} samples"
                    if e["rows"]
                    else "–",
                ]
            )
    if export_rows:
        print("Streamed exports of the whole range (CSV, then Parquet):")
        print(
            table(
                [
                    "database",
                    "format",
                    "samples read",
                    "MiB sent",
                    "s",
                    "samples/s",
                    "server RSS cold MiB",
                    "after a 1-minute export MiB",
                    "peak MiB",
                    "growth MiB",
                    "size of the whole export",
                ],
                export_rows,
            )
        )
    print()
    print("Seeded data:")
    print(
        table(
            ["database", "samples", "in blocks", "span", "seeded in s", "database size MiB"],
            [
                [
                    i["db"],
                    fmt(i["rows"]),
                    fmt(i.get("in_blocks", 0)),
                    f"{(i['end'] - i['start']) / HOUR_MS:g} h",
                    fmt(i["seed_seconds"]) + ("" if i.get("seeded_now") else " (cached)"),
                    mib(i["size"]),
                ]
                for i in results
            ],
        )
    )
    admin_rows = [
        [info["db"], a["page"], fmt(a["median_ms"]), fmt(a["first_ms"])]
        for info in results
        for a in info.get("admin", [])
    ]
    if admin_rows:
        print("\nAdmin sample list (pages of 100, keyset by stream and seq):")
        print(table(["database", "page", "median ms", "first ms"], admin_rows))
    print("\nTargets:")
    for info in results:
        admin = {a["page"]: a for a in info.get("admin", [])}
        if admin:
            worst = max(
                (a for name, a in admin.items() if not name.startswith("baseline")),
                key=lambda a: a["median_ms"],
            )
            baseline = admin["baseline: COUNT + OFFSET, middle"]["median_ms"]
            middle = admin["page in the middle"]["median_ms"]
            print(
                f"  [{verdict(worst['median_ms'] <= 200)}] {info['db']}: slowest admin page "
                f"({worst['page']}) {worst['median_ms']:.1f} ms ≤ 200 ms; the middle page is "
                f"{baseline / middle:.0f}× faster than COUNT + OFFSET ({baseline:.1f} ms)"
            )
        q = {x["range"]: x for x in info["queries"]}
        whole = info["queries"][0]
        minute = q["last minute"]
        ratio = whole["median_ms"] / minute["median_ms"]
        print(
            f"  [{verdict(ratio <= 2)}] {info['db']}: {whole['range']} {whole['median_ms']:.1f} ms "
            f"= {ratio:.2f}× the one-minute query ({minute['median_ms']:.1f} ms), ≤ 2×"
        )
        print(
            f"  [{verdict(whole['median_ms'] < 100)}] {info['db']}: {whole['range']} "
            f"{whole['median_ms']:.1f} ms < 100 ms"
        )
        for e in info.get("exports", []):
            growth = e["rss_peak"] - e["rss_start"]
            flat = growth < 32 * 2**20
            print(
                f"  [{verdict(flat)}] {info['db']}: {e['format']} export RSS growth "
                f"{mib(growth)} MiB while streaming {mib(e['bytes'])} MiB "
                "(flat: < 32 MiB whatever the size)"
            )
            if e["format"] == "csv" and e["rows"]:
                print(
                    f"  [{verdict(e['rows_per_s'] >= EXPORT_TARGET)}] {info['db']}: CSV export "
                    f"{e['rows_per_s']:,.0f} samples/s ≥ {EXPORT_TARGET:,}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=0.05, help="fraction of a day to seed (1 = 86.4 M samples)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the seeded database and reuse it"
    )
    parser.add_argument("--dbs", default="sqlite,postgres")
    parser.add_argument(
        "--layout",
        choices=("blocks", "rows"),
        default="blocks",
        help="blocks: as compaction leaves a day (all but the hot tail in blocks); rows: all rows",
    )
    parser.add_argument("--repeat", type=int, default=7, help="runs per query (median)")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument(
        "--export-seconds",
        type=float,
        default=60.0,
        help="stop reading the export after this long (0: read it all; -1: skip it)",
    )
    parser.add_argument("--child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    span = span_for(args.scale)
    if args.child:
        child(args.child, span, args.scale, args.repeat, args.points, args.reuse, args.layout)
        return
    banner(
        f"History: {span * RATE // 1000:,} samples ({span / HOUR_MS:g} h at 1 kHz, "
        f"{args.layout}), points={args.points}"
    )
    results = []
    with scratch_directory() as directory:
        for kind in [d.strip() for d in args.dbs.split(",")]:
            info = run_database(kind, args, span, directory)
            if info:
                results.append(info)
                print(f"   done: {kind}", flush=True)
    report(results)
    print(f"\nload at the end: {uptime()}")


if __name__ == "__main__":
    main()
