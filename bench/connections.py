"""Idle authenticated WebSocket connections: memory per connection and idle CPU.

Opens --connections (default 5,000) connections from several client processes
and holds them idle, against:
  baseline    a bare `websockets` server that greets each client and keeps it open
  pulseboard  `manage.py serve` (Daphne + producer, SQLite, in-memory layer), every
              connection authenticated with `?token=` and greeted with `hello`;
              all streams stopped, so nothing but the connections is served

For each: server RSS before and after, RSS per connection, idle CPU % of one core
with no connections and with all of them open (over --idle-seconds, by default
one full 20 s keep-alive ping round of both servers), and how fast they opened.
Targets: Pulseboard ≤ 3× the baseline's RSS per connection, ≤ 5 % of a core idle.

`--subscribe SLUG` runs that stream and has every connection watch it (idle
tabs of a page: `system.host` sends one sample a second). `--compare-env
NAME=VALUE` adds a Pulseboard row served with that setting, and `--before DIR`
one served from an earlier checkout, both in the same run: with
`--subscribe system.host --compare-env PULSEBOARD_ACCESS_RECHECK_SECONDS=3600
--idle-seconds 60` the rows show what the sockets' access re-checks cost (the
idle window should span two re-check intervals).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Database,
    Gauge,
    PulseboardServer,
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
from wsload import LoadClients

# What the sockets' access re-checks may add to idle CPU, in % of a core, against a
# row with them off (--compare-env PULSEBOARD_ACCESS_RECHECK_SECONDS=3600).
RECHECK_ALLOWANCE = 3.0


def idle_cpu(gauge: Gauge, seconds: float) -> float:
    """CPU % of one core used by the process over `seconds`."""
    before = gauge.cpu()
    time.sleep(seconds)
    return 100 * (gauge.cpu() - before) / seconds


def measure(
    label: str,
    url: str,
    pid: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    connections, processes, idle_seconds = args.connections, args.client_procs, args.idle_seconds
    gauge = Gauge(pid)
    time.sleep(2)  # let start-up settle
    rss_empty = gauge.rss()
    cpu_empty = idle_cpu(gauge, idle_seconds)
    opened = time.monotonic()
    subscribe = (
        json.dumps({"type": "subscribe", "stream": args.subscribe}) if args.subscribe else None
    )
    clients = LoadClients(
        url,
        connections,
        processes,
        subscribe=subscribe,
        idle=True,
        connect_concurrency=args.connect_concurrency,
        connect_deadline=300,
    )
    try:
        up, failed, errors = clients.wait_ready(timeout=600)
        ramp = time.monotonic() - opened
        if failed:
            print(f"   {label}: {failed} connections failed: {errors}", flush=True)
        clients.hold()
        time.sleep(3)
        rss_full = gauge.rss()
        load = load_average()
        spy = None
        if args.profile is not None:
            spy = start_profiler(pid, idle_seconds, args.profile / f"idle-{label.split(':')[0]}")
        cpu_full = idle_cpu(gauge, idle_seconds)
        if spy is not None:
            spy.wait(timeout=60)
        rss_after_idle = gauge.rss()
        clients.release()
        results = clients.results()
    finally:
        clients.close()
    lost = sum(r["lost"] for r in results)
    return {
        "server": label,
        "connections": up,
        "failed": failed,
        "lost": lost,
        "ramp_s": ramp,
        "rss_empty": rss_empty,
        "rss_full": max(rss_full, rss_after_idle),
        "per_connection": (max(rss_full, rss_after_idle) - rss_empty) / max(up, 1),
        "cpu_empty": cpu_empty,
        "cpu_full": cpu_full,
        "load": load,
    }


def measure_pulseboard(name: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """Serve Pulseboard as `name` says ("pulseboard", "before", or NAME=VALUE) and measure it."""
    env = {"PULSEBOARD_IDLE_TIMEOUT": "3600", **dict(i.split("=", 1) for i in args.server_env)}
    tree = None
    if name == "before":
        tree = args.before
    elif "=" in name:
        setting, value = name.split("=", 1)
        env[setting] = value
    database = Database("sqlite", directory)
    try:
        server = PulseboardServer(
            database,
            log_dir=directory,
            running=[args.subscribe] if args.subscribe else [],
            env=env,
            tree=tree,
        )
        server.prepare()
        with server:
            label = "pulseboard" if name == "pulseboard" else f"pulseboard ({name})"
            if tree is not None:
                label = f"before ({tree})"
            return measure(
                label, f"{server.ws_url}/ws/live/?token={server.token}", server.pid, args
            )
    finally:
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument(
        "--idle-seconds", type=float, default=20.0, help="seconds over which idle CPU is measured"
    )
    parser.add_argument("--servers", default="baseline,pulseboard")
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=25,
        help="handshakes in flight per client process",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy the servers while idle (stacks in DIR)"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the Pulseboard server, e.g. PULSEBOARD_WS_PING_INTERVAL=30",
    )
    parser.add_argument(
        "--subscribe",
        metavar="SLUG",
        help="run this stream and have every connection watch it (e.g. system.host, 1 Hz)",
    )
    parser.add_argument(
        "--compare-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also measure Pulseboard with this setting added (a row per option), "
        "e.g. PULSEBOARD_ACCESS_RECHECK_SECONDS=3600",
    )
    parser.add_argument(
        "--before", type=Path, metavar="DIR", help="also measure a checkout of an earlier commit"
    )
    args = parser.parse_args()
    servers = [s.strip() for s in args.servers.split(",")]
    if args.before:
        servers.insert(servers.index("pulseboard") if "pulseboard" in servers else 0, "before")
    for item in args.compare_env:
        servers.insert(servers.index("pulseboard") if "pulseboard" in servers else 0, item)
    limit = raise_open_files(args.connections * 2 + 2048)
    if limit < args.connections + 1024:
        print(f"warning: only {limit} open files allowed; connections may fail", file=sys.stderr)
    watching = f", each watching {args.subscribe}" if args.subscribe else ""
    banner(f"{args.connections:,} idle authenticated WebSocket connections{watching}")
    if args.server_env:
        print(f"   Pulseboard server environment: {' '.join(args.server_env)}\n")
    rows = []
    with scratch_directory() as directory:
        for name in servers:
            if name == "baseline":
                with ScriptServer("ws_fanout.py", "--mode", "idle", log_dir=directory) as s:
                    rows.append(
                        measure(
                            "baseline: websockets",
                            s.ws_url + "/",
                            s.pid,
                            args,
                        )
                    )
            else:
                rows.append(measure_pulseboard(name, args, directory))
            print(f"   done: {rows[-1]['server']}", flush=True)
    print(
        table(
            [
                "server",
                "open",
                "failed",
                "dropped",
                "opened in s",
                "RSS empty MiB",
                "RSS full MiB",
                "KiB / conn",
                "idle CPU % (0 conns)",
                "idle CPU % (all)",
                "load 1/5/15",
            ],
            [
                [
                    r["server"],
                    fmt(r["connections"]),
                    r["failed"],
                    r["lost"],
                    fmt(r["ramp_s"]),
                    mib(r["rss_empty"]),
                    mib(r["rss_full"]),
                    fmt(r["per_connection"] / 1024),
                    fmt(r["cpu_empty"], 2),
                    fmt(r["cpu_full"], 2),
                    r["load"],
                ]
                for r in rows
            ],
        )
    )
    by = {r["server"]: r for r in rows}
    pb, base = by.get("pulseboard"), by.get("baseline: websockets")
    for r in rows:
        if pb and r["server"].startswith("before ("):
            print(
                f"  idle CPU of pulseboard minus {r['server']}: "
                f"{pb['cpu_full'] - r['cpu_full']:+.2f} % of a core"
            )
    print("\nTargets:")
    if pb and base:
        ratio = pb["per_connection"] / base["per_connection"]
        print(f"  [{verdict(ratio <= 3)}] RSS per connection {ratio:.2f}× the baseline's (≤ 3×)")
    if pb and not args.subscribe:
        print(
            f"  [{verdict(pb['cpu_full'] <= 5)}] idle CPU {pb['cpu_full']:.2f} % of a core (≤ 5 %)"
        )
    for r in rows:
        if pb and r["server"].startswith("pulseboard ("):
            extra = pb["cpu_full"] - r["cpu_full"]
            print(
                f"  [{verdict(extra <= RECHECK_ALLOWANCE)}] idle CPU {extra:+.2f} % of a core "
                f"against {r['server']} (≤ +{RECHECK_ALLOWANCE:g} %)"
            )
    if pb and pb["connections"] < args.connections:
        print(f"  [MISSED] only {pb['connections']:,} of {args.connections:,} connections opened")
    print(f"\nload at the end: {uptime()}")


if __name__ == "__main__":
    main()
