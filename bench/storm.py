"""Reconnect storm: N viewers of the live overview connect (or resume) within two seconds.

Each viewer subscribes to every seeded stream but the 1 kHz sine (the streams of
the demo's "Live overview", eight subscriptions), as the page does:

  fresh   a new page: `subscribe` with `backfill` (--backfill, default 600 samples)
  resume  a network blip: the viewers first join slowly and go live, then every
          socket drops at once and reconnects with `since` = the last seq it had
  steady  no storm: the viewers join slowly (--calm-rate a second), stay, and
          --seconds of live frames are measured once every one is in

`--web N --layer redis` serves the viewers from N web processes (`serve
--no-producer`, each client process on one of them) beside a worker
(`manage.py produce`), all on one private Redis: the cluster. Server CPU is then
the sum over those processes, each also shown on its own.

Per second after the storm begins: viewers whose eight `subscribed` replies have
arrived, and the latency of live frames (receive time − the `t` of the frame's
oldest sample; a live frame is one past the seq announced in `subscribed`),
p50 / p99 / max, the server's CPU (% of a core) in that second, and the machine's
1-minute load average at that second.
"Back to live" is the first second from which every viewer is in and each
second's p99 stays ≤ 250 ms; "p99 < 500 ms from second 7" says whether every
second from the 7th to the end of the run kept p99 under 500 ms (a run of
--seconds 45 spans the sockets' access re-checks at 30 s). Holes and duplicates
are counted per stream per viewer (on resume, from `since`). The steady state of
the same server (the last seconds of the run), with --before DIR the same storm
against an earlier checkout, and with --compare-env NAME=VALUE the same storm
against this checkout with that setting (PULSEBOARD_ACCESS_RECHECK_SECONDS=3600:
the access re-check off) are printed beside it: the baselines of the same run.

The viewers run in --client-procs processes on the lean client of bench/rawws.py
(about half the CPU per message of the `websockets` client), so that on a small
machine the load leaves the server its share.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    PYTHON,
    ROOT,
    Database,
    Gauge,
    PulseboardServer,
    RedisServer,
    banner,
    fmt,
    load_average,
    raise_open_files,
    scratch_directory,
    start_profiler,
    table,
    uptime,
)
from rawws import raw_connect
from wsload import parse_frame

from tests.processes import spawn, stop_process

STREAMS = [
    "sensors.lab-1",
    "sensors.lab-2",
    "system.host",
    "anomaly.demo",
    "business.kpi",
    "price.BTC-USD",
    "push.demo",
    "replay.lab-1",
]
GOAL_MS = 250
# Every second from LATE_FROM on keeps its p99 under LATE_GOAL_MS, to the end of the run.
LATE_FROM, LATE_GOAL_MS = 7, 500
STREAM_KEY = b'"stream":"'


def frame_stream(data: bytes) -> str:
    i = data.find(STREAM_KEY) + len(STREAM_KEY)
    return data[i : data.find(b'"', i)].decode()


class Viewer:
    """One socket's view of the storm: when it got in, and its seq per stream."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}  # stream → last seq received
        self.announced: dict[str, int] = {}  # stream → seq in `subscribed`
        self.in_at: float | None = None
        self.holes = 0
        self.duplicates = 0
        self.errors = 0
        self.sessions = 0  # greeted by the server
        self.greeted_at = 0.0

    def subscribes(self, backfill: int) -> list[str]:
        commands = []
        for slug in STREAMS:
            command: dict[str, Any] = {"type": "subscribe", "stream": slug}
            if slug in self.last:
                command["since"] = self.last[slug]
            elif backfill:
                command["backfill"] = backfill
            commands.append(json.dumps(command))
        return commands

    def take(
        self, data: bytes, now: float, t0: float, seconds: dict[int, collections.Counter]
    ) -> None:
        parsed = parse_frame(data)
        if parsed is None:
            if data.startswith(b'{"type":"error"'):
                self.errors += 1
            if data.startswith(b'{"type":"subscribed"'):
                reply = json.loads(data)
                self.announced[reply["stream"]] = reply["seq"]
                if len(self.announced) >= len(STREAMS) and self.in_at is None:
                    self.in_at = now
            return
        first, t_first, last, _ = parsed
        slug = frame_stream(data)
        previous = self.last.get(slug)
        if previous is not None:
            if first <= previous:
                self.duplicates += 1
            elif first > previous + 1:
                self.holes += 1
        self.last[slug] = max(last, previous or 0)
        if first > self.announced.get(slug, 1 << 62) and now >= t0:
            seconds[int(now - t0)][int(now * 1000 - t_first)] += 1


async def viewer_session(
    url: str, viewer: Viewer, backfill: int, until: float, t0: float, seconds: Any
) -> None:
    """One page's socket from its handshake to `until`, on the lean client (bench/rawws.py)."""
    hello: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_message(data: bytes) -> None:
        if not hello.done():
            hello.set_result(None)  # the first message is the server's hello
        else:
            viewer.take(data, time.time(), t0, seconds)

    client = await asyncio.wait_for(raw_connect(url, on_message), 60)
    try:
        await asyncio.wait_for(hello, 60)
        viewer.sessions += 1
        viewer.greeted_at = time.time()
        viewer.announced.clear()
        viewer.in_at = None if STREAMS else time.time()
        for command in viewer.subscribes(backfill):
            client.send_text(command)
        remaining = until - time.time()
        if remaining > 0:
            await asyncio.wait([client.closed], timeout=remaining)
            if client.closed.done():
                raise ConnectionError("the server closed the socket")
    finally:
        client.abort()  # a dropped network, not a goodbye


async def storm_client(plan: dict[str, Any]) -> dict[str, Any]:
    count, spread, t0 = plan["count"], plan["spread"], plan["t0"]
    STREAMS[:] = plan["streams"]
    viewers = [Viewer() for _ in range(count)]
    calm: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    seconds: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    errors: list[str] = []

    async def one(index: int, viewer: Viewer) -> None:
        try:
            if plan["mode"] == "steady":
                await asyncio.sleep(
                    max(0.0, plan["calm_start"] + index * plan["calm_gap"] - time.time())
                )
                await viewer_session(
                    plan["url"], viewer, plan["backfill"], plan["end"], t0, seconds
                )
                return
            if plan["mode"] == "resume":
                # Join slowly, go live, then drop with everyone at t0.
                await asyncio.sleep(
                    max(0.0, plan["calm_start"] + index * plan["calm_gap"] - time.time())
                )
                await viewer_session(plan["url"], viewer, 0, t0, t0 + 3600, calm)
            await asyncio.sleep(max(0.0, t0 + spread * index / count - time.time()))
            await viewer_session(plan["url"], viewer, plan["backfill"], plan["end"], t0, seconds)
        except Exception as error:
            errors.append(repr(error)[:160])

    await asyncio.gather(*(one(i, v) for i, v in enumerate(viewers)))
    return {
        "in": [v.in_at - t0 if v.in_at else None for v in viewers],
        "greeted_at": [v.greeted_at - t0 if v.sessions else None for v in viewers],
        "holes": sum(v.holes for v in viewers),
        "duplicates": sum(v.duplicates for v in viewers),
        "error_frames": sum(v.errors for v in viewers),
        "greeted": sum(1 for v in viewers if v.sessions),
        "seconds": {s: dict(c) for s, c in seconds.items()},
        "errors": sorted(set(errors))[:3],
    }


def client_main(plan: dict[str, Any], report: Any) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        report.put(asyncio.run(storm_client(plan)))
    except Exception as error:
        report.put({"error": repr(error)})


def percentile(counter: collections.Counter, q: float) -> float:
    total = sum(counter.values())
    if not total:
        return float("nan")
    goal, seen = total * q / 100, 0
    for ms in sorted(counter):
        seen += counter[ms]
        if seen >= goal:
            return float(ms)
    return float(max(counter))


def run_storm(
    urls: list[str],
    args: argparse.Namespace,
    server_pids: dict[str, int],
    label: str,
    profile: Path | None,
) -> dict[str, Any]:
    """Run one storm against a server (or the web processes of a cluster); return its figures."""
    context = multiprocessing.get_context("spawn")
    report = context.Queue()
    calm = args.mode in ("resume", "steady")
    calm_seconds = args.viewers / args.calm_rate if calm else 0.0
    start = time.time() + 3
    t0 = start + calm_seconds + (args.calm_settle if calm else 0.0)
    end = t0 + args.seconds
    share = [
        args.viewers // args.client_procs + (i < args.viewers % args.client_procs)
        for i in range(args.client_procs)
    ]
    processes = []
    for index, count in enumerate(share):
        plan = {
            "url": urls[index % len(urls)],
            "count": count,
            "mode": args.mode,
            "backfill": args.backfill,
            "streams": STREAMS,
            "spread": args.spread,
            "t0": t0 + index * args.spread / args.viewers,
            "end": end,
            "calm_start": start + index / args.calm_rate,
            "calm_gap": args.client_procs / args.calm_rate,
        }
        process = context.Process(target=client_main, args=(plan, report), daemon=True)
        process.start()
        processes.append(process)
    gauges = {name: Gauge(pid) for name, pid in server_pids.items()}
    client_gauges = [Gauge(process.pid) for process in processes if process.pid]
    time.sleep(max(0.0, t0 - time.time()))
    first_pid = next(iter(server_pids.values()))
    spy = start_profiler(first_pid, min(10, args.seconds), profile) if profile else None
    cpu0, load = {name: g.cpu() for name, g in gauges.items()}, load_average()
    client0 = sum(g.cpu() for g in client_gauges)
    loads: dict[int, float] = {}
    cpu_by_second: dict[int, float] = {}  # the server's CPU % of a core in each second
    previous = sum(cpu0.values())
    for second in range(int(args.seconds)):  # the machine's load beside each second's figures
        time.sleep(max(0.0, t0 + second + 1 - time.time()))
        loads[second] = os.getloadavg()[0]
        used = sum(g.cpu() for g in gauges.values())
        cpu_by_second[second], previous = 100 * (used - previous), used
    time.sleep(max(0.0, end - time.time()))
    cpu_each = {name: g.cpu() - cpu0[name] for name, g in gauges.items()}
    cpu = sum(cpu_each.values())
    client_cpu = sum(g.cpu() for g in client_gauges) - client0
    results = [report.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    if spy is not None:
        spy.wait(timeout=60)
    failures = [r["error"] for r in results if "error" in r]
    if failures:
        raise RuntimeError(f"a storm client failed: {failures[0]}")
    merged: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for result in results:
        for second, counts in result["seconds"].items():
            merged[int(second)].update({int(ms): n for ms, n in counts.items()})
    ins = [x for r in results for x in r["in"]]
    greeted_at = [x for r in results for x in r["greeted_at"]]
    return {
        "server": label,
        "ins": ins,
        "greeted_at": greeted_at,
        "holes": sum(r["holes"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "error_frames": sum(r["error_frames"] for r in results),
        "greeted": sum(r["greeted"] for r in results),
        "seconds": merged,
        "errors": [e for r in results for e in r["errors"]],
        "cpu_pct": 100 * cpu / args.seconds,
        "cpu_each": {name: 100 * used / args.seconds for name, used in cpu_each.items()},
        "client_cpu_pct": 100 * client_cpu / args.seconds,
        "load": load,
        "loads": loads,
        "cpu_by_second": cpu_by_second,
    }


def summarise(run: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Back to live: all in, and every second's p99 ≤ 250 ms from then on."""
    ins = run["ins"]
    all_in = max(ins) if ins and None not in ins else float("inf")
    seconds = run["seconds"]
    last = int(args.seconds) - 1
    back = None
    for second in range(0, last + 1):
        rest = [
            percentile(seconds.get(s, collections.Counter()), 99) for s in range(second, last + 1)
        ]
        if second + 1 >= all_in and all(not (p > GOAL_MS) for p in rest):
            back = second + 1
            break
    steady: collections.Counter[int] = collections.Counter()
    for second in range(max(0, last - args.steady + 1), last + 1):
        steady.update(seconds.get(second, {}))
    storm: collections.Counter[int] = collections.Counter()
    for second in range(0, min(5, last + 1)):
        storm.update(seconds.get(second, {}))
    late = [
        percentile(seconds.get(second, collections.Counter()), 99)
        for second in range(LATE_FROM - 1, last + 1)
    ]
    return {
        "late_worst": max(late, default=float("nan")),
        "late_over": sum(1 for p in late if not p < LATE_GOAL_MS),
        "in": sum(x is not None for x in ins),
        "all_in": all_in,
        "back": back,
        "storm_p99": percentile(storm, 99),
        "storm_max": max(storm) if storm else float("nan"),
        "steady_p99": percentile(steady, 99),
    }


def serve_and_storm(
    args: argparse.Namespace,
    directory: Path,
    label: str,
    tree: Path | None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    redis = RedisServer(directory) if args.layer == "redis" else None
    database = Database("sqlite", directory)
    cluster = args.web > 1
    worker: subprocess.Popen[bytes] | None = None
    try:
        if redis:
            redis.start()
        servers = [
            PulseboardServer(
                database,
                log_dir=directory,
                redis_url=redis.url if redis else None,
                env={"PULSEBOARD_IDLE_TIMEOUT": "3600", **args.server_env, **(env or {})},
                tree=tree,
                producer=not cluster,
            )
            for _ in range(args.web)
        ]
        server = servers[0]
        server.manage("migrate", "--noinput", "-v", "0")
        server.manage("seed", *([] if args.history else ["--no-history"]))
        server.token = server.manage("createtoken", "demo").split()[-1]
        server.manage(
            "shell",
            "-c",
            "from streams.models import Stream; Stream.objects.update(running=True); "
            "Stream.objects.filter(slug='sine.1khz').update(running=False)",
        )
        with contextlib.ExitStack() as stack:
            for web in servers:
                stack.enter_context(web)
            pids = {f"web {n + 1}": web.pid for n, web in enumerate(servers)}
            if cluster:
                worker = spawn(
                    [PYTHON, "manage.py", "produce"],
                    env=server.env,
                    log_path=directory / "worker.log",
                    cwd=tree or ROOT,
                )
                pids["worker"] = worker.pid
            time.sleep(args.settle)
            urls = [f"{web.ws_url}/ws/live/?token={server.token}" for web in servers]
            name = "before" if tree else ("compared" if env else "now")
            stem = args.profile / f"storm-{args.mode}-{name}" if args.profile else None
            run = run_storm(urls, args, pids, label, stem)
    finally:
        stop_process(worker)
        if redis:
            redis.stop()
        database.drop()
    run.update(summarise(run, args))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--mode", choices=["fresh", "resume", "steady"], default="fresh")
    parser.add_argument(
        "--spread", type=float, default=2.0, help="seconds over which the viewers (re)connect"
    )
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="seconds measured from the storm"
    )
    parser.add_argument(
        "--steady", type=int, default=5, help="last seconds counted as steady state"
    )
    parser.add_argument(
        "--backfill", type=int, default=600, help="samples per subscription of a fresh page"
    )
    parser.add_argument(
        "--calm-rate",
        type=float,
        default=200.0,
        help="resume, steady: viewers joining per second before the measured window",
    )
    parser.add_argument(
        "--calm-settle",
        type=float,
        default=5.0,
        help="resume, steady: seconds live before the drop (the measured window)",
    )
    parser.add_argument(
        "--settle", type=float, default=5.0, help="seconds the server runs before the storm"
    )
    parser.add_argument(
        "--history", action="store_true", help="seed hours of history (slower to prepare)"
    )
    parser.add_argument("--layer", choices=["memory", "redis"], default="memory")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument(
        "--web",
        type=int,
        default=1,
        help="web processes (with --layer redis: N `serve --no-producer` and a worker)",
    )
    parser.add_argument(
        "--before", type=Path, metavar="DIR", help="also storm a checkout of an earlier commit"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy the server's first 10 s of each storm"
    )
    parser.add_argument(
        "--streams",
        default=",".join(STREAMS),
        help="streams each viewer subscribes to (default: the live overview's)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for every Pulseboard server of the run",
    )
    parser.add_argument(
        "--compare-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also storm this checkout with this setting added (one storm per option), "
        "e.g. PULSEBOARD_ACCESS_RECHECK_SECONDS=3600",
    )
    args = parser.parse_args()
    args.server_env = dict(item.split("=", 1) for item in args.server_env)
    if args.web > 1 and args.layer != "redis":
        parser.error("--web above 1 needs --layer redis: processes share streams through Redis")
    STREAMS[:] = [slug for slug in args.streams.split(",") if slug]
    raise_open_files(args.viewers * 2 + 1024)
    banner(
        f"Reconnect storm: {args.viewers} viewers × {len(STREAMS)} streams ({args.mode}, "
        f"{args.layer} layer, {args.web} web process{'es' if args.web > 1 else ''}"
        f"{' + worker' if args.web > 1 else ''})"
    )
    if args.server_env:
        print(f"   Pulseboard server environment: {args.server_env}\n")
    runs = []
    with scratch_directory() as directory:
        if args.before:
            runs.append(serve_and_storm(args, directory, f"before ({args.before})", args.before))
        for item in args.compare_env:
            name, value = item.split("=", 1)
            runs.append(serve_and_storm(args, directory, item, None, {name: value}))
        runs.append(serve_and_storm(args, directory, "pulseboard", None))
    print()
    print(
        "Per second from the storm (viewers greeted, with all subscriptions answered; "
        "live-frame latency p50 / p99 / max ms; server CPU; load average):"
    )
    headers = ["s"] + [f"{run['server']}" for run in runs]
    rows = []
    for second in range(int(args.seconds)):
        line: list[Any] = [second + 1]
        for run in runs:
            counter = run["seconds"].get(second, collections.Counter())
            viewers_in = sum(1 for x in run["ins"] if x is not None and x <= second + 1)
            greeted = sum(1 for x in run["greeted_at"] if x is not None and x <= second + 1)
            line.append(
                f"{greeted} greeted, {viewers_in} in; {fmt(percentile(counter, 50), 0)} / {fmt(percentile(counter, 99), 0)} / "
                f"{fmt(max(counter) if counter else float('nan'), 0)}; srv {fmt(run['cpu_by_second'].get(second, float('nan')), 0)} %; "
                f"load {fmt(run['loads'].get(second, float('nan')), 2)}"
            )
        rows.append(line)
    print(table(headers, rows))
    print()
    print(
        table(
            [
                "server",
                "viewers in",
                "all in (s)",
                "back to live (s)",
                "p99 first 5 s",
                "max first 5 s",
                f"steady p99 (last {args.steady} s)",
                f"worst p99 from {LATE_FROM} s",
                f"seconds ≥ {LATE_GOAL_MS} ms",
                "holes",
                "dups",
                "error frames",
                "srv CPU %",
                "client CPU %",
                "load",
            ],
            [
                [
                    run["server"],
                    f"{run['in']} / {args.viewers}",
                    fmt(run["all_in"], 1),
                    "never" if run["back"] is None else run["back"],
                    fmt(run["storm_p99"], 0),
                    fmt(run["storm_max"], 0),
                    fmt(run["steady_p99"], 0),
                    fmt(run["late_worst"], 0),
                    run["late_over"],
                    run["holes"],
                    run["duplicates"],
                    run["error_frames"],
                    fmt(run["cpu_pct"], 0),
                    fmt(run["client_cpu_pct"], 0),
                    run["load"],
                ]
                for run in runs
            ],
        )
    )
    for run in runs:
        print(f"   {run['server']}: {run['greeted']} viewers greeted (hello)")
        if run["errors"]:
            print(f"   {run['server']}: errors {run['errors'][:3]}")
        if len(run["cpu_each"]) > 1:
            each = ", ".join(f"{name} {fmt(pct, 0)} %" for name, pct in run["cpu_each"].items())
            print(f"   {run['server']}: server CPU by process: {each}")
    now = runs[-1]
    print()
    if args.mode == "steady":
        whole: collections.Counter[int] = collections.Counter()
        for counts in now["seconds"].values():
            whole.update(counts)
        p99 = percentile(whole, 99)
        frames = sum(whole.values()) / args.seconds
        cpu_us = now["cpu_pct"] / 100 * 1e6 / frames if frames else float("nan")
        client_us = now["client_cpu_pct"] / 100 * 1e6 / frames if frames else float("nan")
        print(
            f"Live frames delivered: {fmt(frames, 0)} a second; server CPU {fmt(now['cpu_pct'], 0)} % "
            f"of a core, {fmt(cpu_us, 1)} µs per delivered frame (all server processes); "
            f"load client {fmt(client_us, 1)} µs per frame"
        )
        ok = now["in"] == args.viewers and now["holes"] == 0 and p99 <= GOAL_MS
        print(
            f"Target: {args.viewers} viewers in, every sample delivered (no hole), p99 ≤ {GOAL_MS} ms "
            f"over {args.seconds:g} s: {'met' if ok else 'MISSED'} ({now['in']} in, "
            f"{now['holes']} holes, p99 {fmt(p99, 0)} ms)"
        )
    else:
        ok = now["back"] is not None and now["back"] <= 5 and now["holes"] == 0
        print(
            f"Target: all {args.viewers} back to live (p99 ≤ {GOAL_MS} ms) within 5 s, no hole: "
            f"{'met' if ok else 'MISSED'} (back at {now['back']} s, {now['holes']} holes)"
        )
    for run in runs:
        print(
            f"Target: every second's p99 < {LATE_GOAL_MS} ms from second {LATE_FROM} to "
            f"{int(args.seconds)}: {'met' if run['late_over'] == 0 else 'MISSED'} for "
            f"{run['server']} (worst {fmt(run['late_worst'], 0)} ms, {run['late_over']} "
            f"seconds at or over)"
        )
    print(f"\nload at the end: {uptime()}")


if __name__ == "__main__":
    main()
