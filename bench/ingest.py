"""Pushes from outside: POST /api/streams/<slug>/samples on a real server, two measurements.

`stall` (SQLite, the embedded default): a database holding --stored samples
(3 M) of another stream, --pushers scripts (12) pushing --batches (40) batches
of --size (500) to `push.demo` at once, beside a viewer of the live 1 kHz sine.
Printed: answers by status (2xx or 503 with Retry-After, never 500), samples/s
stored, the viewer's longest wait between frames (target ≤ 1 s beyond the
sine's 50 ms tick) and what the server log says (history writes that failed,
"leases not renewed"). `--before DIR` runs the same against another checkout
(`git archive <commit> | tar -x -C DIR`) in the same run.

`rate` (PostgreSQL): --pushers scripts, each to a push stream of its own,
pushing batches of --size (5,000) for --seconds (60); samples/s stored through
the endpoint, beside a raw `COPY` of the same rows into the same table in the
same run. Target ≥ 100k samples/s. `--web N` runs N server processes and spreads
the pushers over them. `--profile DIR` records the first server with py-spy.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import sqlite3
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Database,
    PulseboardServer,
    banner,
    fmt,
    load_average,
    pg_available,
    scratch_directory,
    start_profiler,
    table,
    uptime,
    verdict,
)

LIVE_STREAM = "sine.1khz"
PUSH_STREAM = "push.demo"
FILLER_STREAM = "sensors.lab-1"


class Pusher(threading.Thread):
    """One script: keep-alive HTTP pushes of ready-made bodies; counts answers and samples."""

    def __init__(self, base_url: str, token: str, slug: str, bodies: Any, size: int):
        super().__init__(daemon=True)
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = f"/api/streams/{slug}/samples"
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.bodies, self.size = bodies, size
        self.statuses: Counter[str] = Counter()
        self.stored = 0
        self.waits: list[float] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        for body in self.bodies:
            started = time.perf_counter()
            try:
                connection.request("POST", self.path, body=body, headers=self.headers)
                response = connection.getresponse()
                response.read()
            except OSError as error:
                self.statuses[type(error).__name__] += 1
                connection.close()
                connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
                continue
            self.waits.append(time.perf_counter() - started)
            status = str(response.status)
            if response.status == 503 and response.getheader("Retry-After"):
                status = "503+Retry-After"
            self.statuses[status] += 1
            if 200 <= response.status < 300:
                self.stored += self.size
        connection.close()


def join_all(threads: list[Pusher]) -> None:
    for thread in threads:
        thread.join()


def pushed_body(size: int, start_t: int | None = None) -> bytes:
    samples = []
    for i in range(size):
        sample: dict[str, Any] = {"values": {"value": round(math.sin(i / 100), 6)}}
        if start_t is not None:
            sample["t"] = start_t + i
        samples.append(sample)
    return json.dumps({"samples": samples}).encode()


async def watch(url: str, stop: asyncio.Event, gaps: list[float]) -> None:
    """Subscribe to the live sine; record the time between its frames."""
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, max_size=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "stream": LIVE_STREAM}))
        last = None
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if message.get("type") == "data":
                now = time.monotonic()
                if last is not None:
                    gaps.append(now - last)
                last = now


def fill(path: Path, stored: int) -> None:
    """Give the filler stream `stored` samples of the last hours, the way a busy day leaves them."""
    raw = sqlite3.connect(path)
    stream_id = raw.execute(
        "SELECT id FROM streams_stream WHERE slug = ?", [FILLER_STREAM]
    ).fetchone()[0]
    start_t = int(time.time() * 1000) - stored
    raw.execute("BEGIN IMMEDIATE")
    for offset in range(0, stored, 100_000):
        raw.executemany(
            'INSERT INTO streams_sample (stream_id, seq, t, "values", flags) VALUES (?, ?, ?, ?, ?)',
            (
                (
                    stream_id,
                    i + 1,
                    start_t + i,
                    json.dumps({"temperature": round(20 + i % 97 / 10, 2)}),
                    "[]",
                )
                for i in range(offset, min(stored, offset + 100_000))
            ),
        )
    raw.execute("COMMIT")
    raw.close()


def stall_run(
    args: argparse.Namespace, directory: Path, tree: Path | None, label: str
) -> dict[str, Any]:
    database = Database("sqlite", directory / label)
    (directory / label).mkdir()
    server = PulseboardServer(
        database, log_dir=directory / label, running=[LIVE_STREAM, PUSH_STREAM], tree=tree
    )
    server.prepare()
    print(f"   {label}: filling {args.stored:,} samples …", flush=True)
    fill(database.path, args.stored)
    server.start()
    try:
        body = pushed_body(args.size)
        pushers = [
            Pusher(server.base_url, server.token, PUSH_STREAM, [body] * args.batches, args.size)
            for _ in range(args.pushers)
        ]
        gaps: list[float] = []

        async def measure() -> float:
            stop = asyncio.Event()
            viewer = asyncio.create_task(
                watch(f"{server.ws_url}/ws/live/?token={server.token}", stop, gaps)
            )
            await asyncio.sleep(3)
            started = time.perf_counter()
            for pusher in pushers:
                pusher.start()
            await asyncio.get_running_loop().run_in_executor(None, join_all, pushers)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1)
            stop.set()
            await viewer
            return elapsed

        elapsed = asyncio.run(measure())
    finally:
        server.stop()
        log = server.log()
        database.drop()
        if args.log_dir:
            Path(args.log_dir).mkdir(parents=True, exist_ok=True)
            (Path(args.log_dir) / f"stall-{label}.log").write_text(log)
    statuses: Counter[str] = Counter()
    for pusher in pushers:
        statuses.update(pusher.statuses)
    waits = sorted(w for pusher in pushers for w in pusher.waits)
    return {
        "label": label,
        "statuses": ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items())),
        "per_s": sum(p.stored for p in pushers) / elapsed,
        "push_p99": waits[int(0.99 * (len(waits) - 1))] if waits else math.nan,
        "gap_max": max(gaps, default=math.nan),
        "gaps_over_1s": sum(gap > 1.05 for gap in gaps),
        "store_failures": log.count("history write failed"),
        "not_renewed": log.count("leases not renewed"),
        "load": load_average(),
    }


def stall(args: argparse.Namespace) -> None:
    banner(
        f"Pushes beside the live path (SQLite): {args.pushers} pushers × {args.batches} batches "
        f"of {args.size}, {args.stored:,} samples stored"
    )
    rows = []
    with scratch_directory() as directory:
        if args.before:
            rows.append(stall_run(args, directory, Path(args.before), "before"))
        rows.append(stall_run(args, directory, None, "this"))
    print(
        table(
            [
                "code",
                "answers",
                "samples/s",
                "push p99 s",
                "longest live wait s",
                "waits > 1.05 s",
                "failed history writes",
                "'leases not renewed'",
                "load 1/5/15",
            ],
            [
                [
                    r["label"],
                    r["statuses"],
                    fmt(round(r["per_s"])),
                    fmt(r["push_p99"], 2),
                    fmt(r["gap_max"], 2),
                    r["gaps_over_1s"],
                    r["store_failures"],
                    r["not_renewed"],
                    r["load"],
                ]
                for r in rows
            ],
        )
    )
    print(f"\nload at the end: {uptime()}")


def copy_rate(url: str, slug: str, batches: list[list[tuple[int, int, str]]]) -> float:
    """Return rows/s of a raw COPY of `batches` (seq, t, values JSON) into streams_sample."""
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT id FROM streams_stream WHERE slug = %s", [slug]).fetchone()
        assert row is not None, slug
        stream_id = row[0]
        started = time.perf_counter()
        rows = 0
        for batch in batches:
            with (
                connection.cursor() as cursor,
                cursor.copy(
                    'COPY streams_sample (stream_id, seq, t, "values", flags) FROM STDIN'
                ) as copy,
            ):
                for seq, t, values in batch:
                    copy.write_row((stream_id, seq, t, values, "[]"))
            connection.commit()
            rows += len(batch)
        return rows / (time.perf_counter() - started)


def rate(args: argparse.Namespace) -> None:
    if not pg_available():
        print("PostgreSQL is not reachable; nothing measured.")
        return
    banner(
        f"Push rate (PostgreSQL): {args.pushers} pushers × batches of {args.size:,} "
        f"for {args.seconds:.0f} s, {args.web} web process(es)"
    )
    slugs = [f"bench.push-{index}" for index in range(args.pushers)]
    with scratch_directory() as directory:
        database = Database("postgres", directory)
        servers = [
            PulseboardServer(database, log_dir=directory, running=slugs, producer=index == 0)
            for index in range(args.web)
        ]
        for index, server in enumerate(servers):
            server.log_path = directory / f"web-{index}.log"
        servers[0].prepare(seed=True)
        servers[0].manage(
            "shell",
            "-c",
            "from streams.models import Stream; from django.contrib.auth.models import User; "
            "demo = User.objects.get(username='demo'); "
            f"[Stream.objects.create(slug=s, title=s, source_kind='push', owner=demo, running=True, "
            f"fields=[{{'name': 'value', 'unit': ''}}]) for s in {[*slugs, 'bench.copy']!r}]",
        )
        profiler = None
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
        for server in servers:
            server.token = servers[0].token
            server.start()
        try:
            if args.profile:  # inside the try: a profiler that fails stops the servers too
                profiler = start_profiler(
                    servers[0].pid, args.seconds, Path(args.profile) / "ingest-rate"
                )
            start_t = int(time.time() * 1000) - 10 * 86_400_000
            # Enough bodies for the time given at up to 50k samples/s per pusher, each later in t.
            count = max(4, int(args.seconds * 50_000 / args.size))
            pushers = []
            for index, slug in enumerate(slugs):
                bodies = (
                    pushed_body(args.size, start_t + batch * args.size) for batch in range(count)
                )
                server = servers[index % len(servers)]
                pushers.append(
                    Pusher(
                        server.base_url,
                        server.token,
                        slug,
                        TimeBound(bodies, args.seconds),
                        args.size,
                    )
                )
            started = time.perf_counter()
            for pusher in pushers:
                pusher.start()
            for pusher in pushers:
                pusher.join()
            elapsed = time.perf_counter() - started
            pushed = sum(pusher.stored for pusher in pushers)
            copy_batches = [
                [
                    (
                        batch * args.size + i + 1,
                        start_t + batch * args.size + i,
                        json.dumps({"value": round(math.sin(i / 100), 6)}),
                    )
                    for i in range(args.size)
                ]
                for batch in range(max(1, pushed // args.size))
            ]
            copied = copy_rate(database.url, "bench.copy", copy_batches)
        finally:
            if profiler is not None:
                profiler.wait()
            for server in servers:
                server.stop()
            database.drop()
    statuses: Counter[str] = Counter()
    for pusher in pushers:
        statuses.update(pusher.statuses)
    waits = sorted(w for pusher in pushers for w in pusher.waits)
    per_s = pushed / elapsed
    print(
        table(
            [
                "pushers",
                "web",
                "batch",
                "answers",
                "pushed samples/s",
                "raw COPY rows/s",
                "ratio",
                "push p50 s",
                "p99 s",
                "target ≥ 100k/s",
                "load 1/5/15",
            ],
            [
                [
                    args.pushers,
                    args.web,
                    fmt(args.size),
                    ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())),
                    fmt(round(per_s)),
                    fmt(round(copied)),
                    f"{per_s / copied:.2f}",
                    fmt(waits[len(waits) // 2], 3) if waits else "–",
                    fmt(waits[int(0.99 * (len(waits) - 1))], 3) if waits else "–",
                    verdict(per_s >= 100_000),
                    load_average(),
                ]
            ],
        )
    )
    print(f"\n{pushed:,} samples pushed in {elapsed:.1f} s; load at the end: {uptime()}")


class TimeBound:
    """The bodies to push until `seconds` have passed since the first was taken."""

    def __init__(self, bodies: Any, seconds: float):
        self.bodies, self.seconds = bodies, seconds

    def __iter__(self) -> Any:
        deadline = None
        for body in self.bodies:
            now = time.monotonic()
            deadline = deadline or now + self.seconds
            if now >= deadline:
                return
            yield body


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["stall", "rate"], nargs="?", default="stall")
    parser.add_argument("--pushers", type=int, default=None, help="12 (stall), 4 (rate)")
    parser.add_argument("--batches", type=int, default=40, help="batches per pusher (stall)")
    parser.add_argument("--size", type=int, default=None, help="samples a batch: 500, 5,000")
    parser.add_argument("--stored", type=int, default=3_000_000, help="samples stored (stall)")
    parser.add_argument("--seconds", type=float, default=60, help="how long to push (rate)")
    parser.add_argument("--web", type=int, default=1, help="web processes (rate)")
    parser.add_argument("--before", help="another checkout to measure in the same run (stall)")
    parser.add_argument("--profile", help="py-spy the server into this folder (rate)")
    parser.add_argument("--log-dir", help="keep the servers' logs in this folder (stall)")
    args = parser.parse_args()
    if args.mode == "stall":
        args.pushers = args.pushers or 12
        args.size = args.size or 500
        stall(args)
    else:
        args.pushers = args.pushers or 4
        args.size = args.size or 5_000
        rate(args)


if __name__ == "__main__":
    main()
