"""Fan-out of a 1 kHz stream to N WebSocket clients: Pulseboard against two baselines.

Servers, each measured with the same load client in the same run:
  a  bare `websockets` server, one message per sample to every client (tutorial design)
  b  the same server, samples batched per 50 ms tick in one frame (near-limit reference)
  pulseboard  `manage.py serve` (uvicorn + producer in one process, SQLite), on the
     in-memory layer, the Redis layer, or both in the same run (--layer memory,redis),
     clients subscribed to the seeded `sine.1khz`

For each N: delivered samples/s (samples stamped inside the measured window that
reached a client by its end + 1 s, and their % of the offered N × 1,000/s), holes
(seq gaps, and how many clients saw one), latency p50/p99/max (receive time − sample `t`),
server CPU % and CPU-seconds per million delivered samples, server RSS, and the
load client's CPU (to show it was not the bottleneck). Then the publisher's cost
per frame against the number of viewers (bench/publish_cost.py).

Shapes (--shape): `sine` serves the sine alone from a fresh database; `demo` is
`make demo` as a user runs it (every demo stream running, the in-process layer, a
database grown by --grow-hours of history per stream, capped at each stream's
retention); `cluster` is `make cluster`'s split (Redis, a web process without the
producer, `manage.py produce` as the worker) on the same grown database. Server
CPU is counted beyond what the same process spends idle (measured for
--idle-seconds before the first round, no client connected), so the cost per
frame is the fan-out's and not the producers'.

Quick default: N = 50,200 for 10 s each. Full: --clients 50,200,500,1000.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import publish_cost
from common import (
    Database,
    Gauge,
    PulseboardServer,
    RedisServer,
    ScriptServer,
    banner,
    fmt,
    load_average,
    mib,
    raise_open_files,
    scratch_directory,
    start_profiler,
    table,
    uptime,
    verdict,
)
from wsload import HISTOGRAM_MS, LoadClients, histogram_max, histogram_percentile

from tests.processes import PYTHON, spawn, stop_process

RATE = 1000
SLUG = "sine.1khz"
SUBSCRIBE = '{"type":"subscribe","stream":"sine.1khz"}'
NAMES = {"a": "a: websockets, per sample", "b": "b: websockets, 50 ms batches"}

# History a grown database holds, made by running each demo source on a past clock
# (the way `seed` makes the demo's hours): `{hours}` per stream, capped at its retention.
GROW_SCRIPT = """
import random
from tqdm import tqdm
from streams.clock import now_ms
from streams.demo import DEMO_STREAMS, history_generate
from streams.models import Sample, Stream
from streams.sources import source_create
now = now_ms()
plan = [
    (slug, kind, settings, int(min({hours} * 3600, retention)))
    for slug, _, kind, settings, retention, seconds in DEMO_STREAMS
    if seconds and kind not in ("system", "push", "replay")
]
with tqdm(total=sum(p[3] for p in plan), unit="s", desc="Growing history", mininterval=5) as bar:
    for slug, kind, settings, span in plan:
        stream = Stream.objects.get(slug=slug)
        Sample.objects.filter(stream=stream).delete()
        source = source_create(kind, settings, rng=random.Random(slug))
        history_generate(stream, source, now - span * 1000, now, bar)
print("samples stored:", Sample.objects.count())
"""


def idle_rate(pid: int, seconds: float) -> float:
    """CPU-seconds per second the process spends with no client connected."""
    if seconds <= 0:
        return 0.0
    gauge = Gauge(pid)
    cpu0 = gauge.cpu()
    time.sleep(seconds)
    return (gauge.cpu() - cpu0) / seconds


def scrape_metrics(server: PulseboardServer) -> dict[str, float] | None:
    """Pulseboard's own counters (frames sent, skipped, samples refilled from history)."""
    figures: dict[str, float] = {}
    request = urllib.request.Request(
        server.base_url + "/metrics", headers={"Authorization": f"Bearer {server.metrics_token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("pulseboard_") and " " in line:
            name, value = line.rsplit(" ", 1)
            name = name.split("{", 1)[0]
            with contextlib.suppress(ValueError):
                figures[name] = figures.get(name, 0.0) + float(value)
    return figures


def run_round(
    *,
    label: str,
    url: str,
    subscribe: str | None,
    server_pid: int,
    clients: int,
    processes: int,
    seconds: float,
    warmup: float,
    profile: Path | None = None,
    profile_name: str = "server",
    idle: float = 0.0,
) -> dict[str, Any]:
    load = LoadClients(url, clients, processes, subscribe=subscribe)
    spy = None
    try:
        up, failed, errors = load.wait_ready()
        if failed:
            print(f"   {label}, N={clients}: {failed} connections failed: {errors}", flush=True)
        server = Gauge(server_pid)
        client_gauges = [Gauge(pid) for pid in load.pids]
        start = time.time() + warmup
        end = start + seconds
        load.measure(start, end)
        time.sleep(max(0.0, start - time.time()))
        if profile is not None:
            spy = start_profiler(server_pid, seconds, profile / f"{profile_name}-{clients}")
        cpu0 = server.cpu()
        client0 = sum(g.cpu() for g in client_gauges)
        load_at_start = load_average()
        time.sleep(max(0.0, end - time.time()))
        cpu1 = server.cpu()
        client1 = sum(g.cpu() for g in client_gauges)
        rss = server.rss()
        results = load.results()
    finally:
        load.close()
        if spy is not None:
            spy.wait(timeout=60)
    histogram = [sum(bucket) for bucket in zip(*(r["histogram"] for r in results), strict=True)]
    delivered = sum(r["samples"] for r in results)
    frames = sum(r["frames"] for r in results)
    # What the fan-out costs: the round's CPU less what the process spends idle.
    cpu = max(0.0, cpu1 - cpu0 - idle * seconds)
    return {
        "server": label,
        "clients": clients,
        "connected": up,
        "lost": sum(r["lost"] for r in results),
        "silent": sum(r["silent"] for r in results),
        "offered_per_s": clients * RATE,
        "delivered_per_s": delivered / seconds,
        "holes": sum(r["holes"] for r in results),
        "clients_with_holes": sum(r["clients_with_holes"] for r in results),
        "missing": sum(r["missing"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "p50": histogram_percentile(histogram, 50),
        "p99": histogram_percentile(histogram, 99),
        "max": histogram_max(histogram),
        "cpu_pct": 100 * (cpu1 - cpu0) / seconds,
        "idle_pct": 100 * idle,
        "cpu_per_m": cpu / (delivered / 1e6) if delivered else float("nan"),
        "cpu_us_per_frame": 1e6 * cpu / frames if frames else float("nan"),
        "rss": rss,
        "client_cpu_pct": 100 * (client1 - client0) / seconds,
        "load": load_at_start,
    }


def attempt(**round_args: Any) -> list[dict[str, Any]]:
    """Run one round; a round that cannot run (the server never lets the clients in) is reported."""
    label, clients = round_args["label"], round_args["clients"]
    try:
        return [run_round(**round_args)]
    except Exception as error:
        print(f"   {label}, N={clients}: the round failed: {error}", flush=True)
        return []


def latency(ms: float) -> str:
    return f"≥ {fmt(ms, 0)}" if ms >= HISTOGRAM_MS else fmt(ms, 0)


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(
        table(
            [
                "server",
                "N",
                "delivered/s",
                "of offered",
                "holes (clients)",
                "p50 ms",
                "p99 ms",
                "max ms",
                "srv CPU % (idle)",
                "CPU-s/M samples*",
                "CPU µs/frame*",
                "srv RSS MiB",
                "client CPU %",
                "load 1/5/15",
            ],
            [
                [
                    r["server"],
                    r["clients"]
                    if r["connected"] >= r["clients"]
                    else f"{r['clients']} ({r['connected']} up)",
                    fmt(round(r["delivered_per_s"])),
                    f"{100 * r['delivered_per_s'] / r['offered_per_s']:.1f} %",
                    f"{r['holes']} ({r['clients_with_holes']})",
                    latency(r["p50"]),
                    latency(r["p99"]),
                    latency(r["max"]),
                    f"{fmt(r['cpu_pct'], 0)} ({fmt(r.get('idle_pct', 0.0), 0)})",
                    fmt(r["cpu_per_m"], 2),
                    fmt(r["cpu_us_per_frame"], 1),
                    mib(r["rss"]),
                    fmt(r["client_cpu_pct"], 0),
                    r["load"],
                ]
                for r in rows
            ],
        ),
        flush=True,
    )
    print("   * beyond what the server spends idle (no client connected)", flush=True)


def targets(rows: list[dict[str, Any]], pulseboard: str) -> list[tuple[str, bool]]:
    by = {(r["server"], r["clients"]): r for r in rows}
    checks = []
    pb200 = by.get((pulseboard, 200))
    if pb200:
        share = pb200["delivered_per_s"] / pb200["offered_per_s"]
        checks.append((f"200 clients: delivered {100 * share:.1f} % ≥ 99 %", share >= 0.99))
        checks.append((f"200 clients: holes {pb200['holes']} = 0", pb200["holes"] == 0))
        checks.append((f"200 clients: p99 {pb200['p99']:.0f} ms ≤ 100 ms", pb200["p99"] <= 100))
        for base, goal in (("a", 4.0), ("b", 0.8)):
            other = by.get((NAMES[base], 200))
            if other and other["delivered_per_s"]:
                ratio = pb200["delivered_per_s"] / other["delivered_per_s"]
                checks.append(
                    (
                        f"200 clients: {ratio:.2f}× baseline ({base}) delivered ≥ {goal}×",
                        ratio >= goal,
                    )
                )
    pb1000 = by.get((pulseboard, 1000))
    if pb1000:
        checks.append((f"1,000 clients: holes {pb1000['holes']} = 0", pb1000["holes"] == 0))
        checks.append((f"1,000 clients: p99 {pb1000['p99']:.0f} ms ≤ 250 ms", pb1000["p99"] <= 250))
    return checks


def grown_database(
    args: argparse.Namespace, server: PulseboardServer, cache: dict[str, Path], key: str
) -> None:
    """Give `server`'s database --grow-hours of demo history (made once per tree on SQLite)."""
    database = server.database
    template = cache.get(key)
    if template is not None and database.kind == "sqlite":
        shutil.copyfile(template, database.path)
        server.prepare()
        return
    server.prepare()
    started = time.monotonic()
    print(f"   growing the database: {args.grow_hours} h of history per demo stream", flush=True)
    output = server.manage("shell", "-c", GROW_SCRIPT.format(hours=args.grow_hours), timeout=7200)
    print(f"   {output.strip().splitlines()[-1]} ({time.monotonic() - started:.0f} s)", flush=True)
    # A demo that ran for a day has moved all but its hot tail into blocks as it went;
    # rows grown at once would leave that work to the measured rounds' background.
    started = time.monotonic()
    server.manage("compact", "--wait", timeout=7200)
    print(f"   compacted into blocks ({time.monotonic() - started:.0f} s)", flush=True)
    if database.kind == "sqlite":
        server.manage(
            "shell", "-c", "from django.db import connection; connection.cursor().execute('VACUUM')"
        )
        template = database.path.with_name(f"grown-{len(cache)}.sqlite3")
        shutil.copyfile(database.path, template)
        cache[key] = template


def run_pulseboard(
    args: argparse.Namespace,
    layer: str,
    label: str,
    counts: list[int],
    directory: Path,
    tree: Path | None = None,
    grown: dict[str, Path] | None = None,
) -> list[dict[str, Any]]:
    """Measure one Pulseboard shape on one channel layer for every N; return its rows."""
    rows: list[dict[str, Any]] = []
    redis = RedisServer(directory) if layer == "redis" else None
    database = Database(args.db, directory)
    worker: subprocess.Popen[bytes] | None = None
    cluster = args.shape == "cluster"
    try:
        if redis:
            redis.start()
        server = PulseboardServer(
            database,
            log_dir=directory,
            redis_url=redis.url if redis else None,
            running=[SLUG] if args.shape == "sine" and not args.all_streams else None,
            env=dict(item.split("=", 1) for item in args.server_env),
            tree=tree,
            producer=not cluster,
        )
        if args.shape == "sine":
            server.prepare()
        else:
            grown_database(args, server, grown if grown is not None else {}, str(tree or ""))
        if cluster:
            worker = spawn(
                [PYTHON, "manage.py", "produce"],
                env=server.env,
                log_path=directory / "worker.log",
                cwd=server.cwd,
            )
        with server:
            idle = idle_rate(server.pid, args.idle_seconds)
            print(f"   server idle: {100 * idle:.1f} % CPU", flush=True)
            url = f"{server.ws_url}/ws/live/?token={server.token}"
            for n in counts:
                before = scrape_metrics(server)
                round_rows = attempt(
                    label=label,
                    url=url,
                    subscribe=SUBSCRIBE,
                    server_pid=server.pid,
                    clients=n,
                    processes=args.client_procs,
                    seconds=args.seconds,
                    warmup=args.warmup,
                    profile=args.profile,
                    profile_name=f"server-{layer}" + ("-before" if tree else ""),
                    idle=idle,
                )
                if not round_rows:
                    continue
                rows.extend(round_rows)
                after = scrape_metrics(server)
                rows[-1]["metrics"] = (
                    {
                        k: after.get(k, 0) - before.get(k, 0)
                        for k in (
                            "pulseboard_frames_sent_total",
                            "pulseboard_frames_skipped_total",
                            "pulseboard_samples_refilled_total",
                            "pulseboard_frames_dropped_total",
                        )
                    }
                    if before is not None and after is not None
                    else "unavailable (/metrics did not answer)"
                )
                print_rows(rows[-1:])
                print(f"   server counters during the round: {rows[-1]['metrics']}")
    finally:
        stop_process(worker)
        if redis:
            redis.stop()
        database.drop()
    return rows


def layer_targets(
    rows: list[dict[str, Any]], labels: dict[str, str], counts: list[int]
) -> list[tuple[str, bool]]:
    """The cluster's layer against the embedded one, and each against baseline (b)."""
    by = {(r["server"], r["clients"]): r for r in rows}
    checks = []
    for n in counts:
        memory, redis, bare = (
            by.get((labels.get("memory", ""), n)),
            by.get((labels.get("redis", ""), n)),
            by.get((NAMES["b"], n)),
        )
        if memory and redis and memory["cpu_per_m"]:
            ratio = redis["cpu_per_m"] / memory["cpu_per_m"]
            text = f"{n} clients: Redis layer CPU-s/M samples {ratio:.2f}× the in-memory layer's ≤ 1.2×"
            checks.append((text, ratio <= 1.2))
        if redis and n >= 1000:
            checks.append(
                (
                    f"{n} clients, Redis layer: p99 {redis['p99']:.0f} ms ≤ 250 ms",
                    redis["p99"] <= 250,
                )
            )
        for layer, row, goal in (("in-memory", memory, 1.5), ("Redis", redis, 2.0)):
            if row and bare and bare["cpu_per_m"]:
                cost = row["cpu_per_m"] / bare["cpu_per_m"]
                checks.append(
                    (
                        f"{n} clients, {layer} layer: cost per delivered sample {cost:.2f}× (b) ≤ {goal}×",
                        cost <= goal,
                    )
                )
                per_frame = row["cpu_us_per_frame"] / bare["cpu_us_per_frame"]
                checks.append(
                    (
                        f"{n} clients, {layer} layer: cost per delivered frame {per_frame:.2f}× (b) ≤ {goal}×",
                        per_frame <= goal,
                    )
                )
                checks.append(
                    (
                        f"{n} clients, {layer} layer: p99 {row['p99']:.0f} ms ≤ 2 × (b)'s {bare['p99']:.0f} ms",
                        row["p99"] <= 2 * bare["p99"],
                    )
                )
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="50,200", help="N values, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per N")
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="seconds between every client receiving data and the measured window",
    )
    parser.add_argument("--client-procs", type=int, default=2, help="load client processes")
    parser.add_argument(
        "--servers", default="a,b,pulseboard", help="which of a, b, pulseboard to run"
    )
    parser.add_argument(
        "--layer",
        default="memory",
        help="Pulseboard's channel layers, comma-separated: memory (embedded default), "
        "redis (the cluster's pub/sub layer), or memory,redis to compare them in one run",
    )
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--shape",
        default="sine",
        choices=["sine", "demo", "cluster"],
        help="sine: the sine alone, fresh database; demo: every demo stream on a grown "
        "database (make demo); cluster: the same on Redis with a separate worker (make cluster)",
    )
    parser.add_argument(
        "--grow-hours",
        type=float,
        default=24.0,
        help="hours of history per demo stream in the demo and cluster shapes (capped at "
        "each stream's retention: the 1 kHz sine keeps one hour, 3.6 M samples)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=10.0,
        help="seconds each server's idle CPU is measured for before its first round",
    )
    parser.add_argument(
        "--all-streams",
        action="store_true",
        help="leave every seeded stream running (default: only sine.1khz)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the Pulseboard server, e.g. PULSEBOARD_TICK_SECONDS=0.1",
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="DIR",
        help="also measure Pulseboard served from DIR, a checkout of an earlier commit "
        "(git archive <commit> | tar -x -C DIR), before this one, on each layer",
    )
    parser.add_argument("--no-publish-cost", action="store_true")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record the Pulseboard server with py-spy during each round (collapsed stacks in DIR)",
    )
    parser.add_argument("--members", default="1,10,100,1000", help="group sizes for publish cost")
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]
    servers = [s.strip() for s in args.servers.split(",")]
    raise_open_files(max(counts) * 2 + 1024)
    banner(f"Fan-out of a 1 kHz stream to N WebSocket clients (N = {args.clients})")
    layers = [layer.strip() for layer in args.layer.split(",")]
    if args.shape == "cluster":
        layers = ["redis"]
    extras = "".join(", " + e for e in args.server_env)
    shape = "" if args.shape == "sine" else f"{args.shape}, "
    pb_labels = {layer: f"pulseboard ({shape}{layer} layer, {args.db}{extras})" for layer in layers}
    rows: list[dict[str, Any]] = []
    grown: dict[str, Path] = {}
    with scratch_directory() as directory:
        for name in servers:
            if name in NAMES:
                print(f"-- {NAMES[name]}", flush=True)
                mode = "per-sample" if name == "a" else "batched"
                with ScriptServer(
                    "ws_fanout.py", "--mode", mode, log_dir=directory, name=name
                ) as s:
                    idle = idle_rate(s.pid, args.idle_seconds)
                    for n in counts:
                        round_rows = attempt(
                            label=NAMES[name],
                            url=s.ws_url + "/",
                            subscribe=SUBSCRIBE,
                            server_pid=s.pid,
                            clients=n,
                            processes=args.client_procs,
                            seconds=args.seconds,
                            warmup=args.warmup,
                            idle=idle,
                        )
                        rows.extend(round_rows)
                        if round_rows:
                            print_rows(round_rows)
                continue
            for layer in layers:
                if args.before:
                    label = f"before: {pb_labels[layer]}"
                    print(f"-- {label} from {args.before}", flush=True)
                    rows.extend(
                        run_pulseboard(args, layer, label, counts, directory, args.before, grown)
                    )
                print(f"-- {pb_labels[layer]}", flush=True)
                rows.extend(
                    run_pulseboard(args, layer, pb_labels[layer], counts, directory, None, grown)
                )
    print()
    print("Fan-out, all rounds:")
    print_rows(rows)
    print()
    print("Ratios of delivered samples/s (Pulseboard / baseline):")
    by = {(r["server"], r["clients"]): r for r in rows}
    ratio_rows = []
    for layer, pb_label in pb_labels.items():
        for n in counts:
            pb = by.get((pb_label, n))
            if not pb:
                continue
            line: list[Any] = [layer, n]
            for base in ("a", "b"):
                other = by.get((NAMES[base], n))
                line.append(
                    f"{pb['delivered_per_s'] / other['delivered_per_s']:.2f}×"
                    if other and other["delivered_per_s"]
                    else "–"
                )
            ratio_rows.append(line)
    if ratio_rows:
        print(table(["layer", "N", "vs a (per sample)", "vs b (batched)"], ratio_rows))
    checks = [check for label in pb_labels.values() for check in targets(rows, label)]
    checks += layer_targets(rows, pb_labels, counts)
    if not args.no_publish_cost:
        print()
        layers = ["memory", "redis"]
        cost = publish_cost.measure([int(m) for m in args.members.split(",")], 1000, 200, layers)
        for layer, ratio, ok in publish_cost.report(cost):
            checks.append(
                (
                    f"publish cost {layer} layer, 1 → {args.members.split(',')[-1]} viewers: {ratio:.2f}× ≤ 1.2×",
                    ok,
                )
            )
    print()
    print("Targets:")
    for text, ok in checks:
        print(f"  [{verdict(ok)}] {text}")
    print(f"\nload at the end: {uptime()}")


if __name__ == "__main__":
    main()
