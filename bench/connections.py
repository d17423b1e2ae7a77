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
"""

from __future__ import annotations

import argparse
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
    clients = LoadClients(
        url,
        connections,
        processes,
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
    args = parser.parse_args()
    limit = raise_open_files(args.connections * 2 + 2048)
    if limit < args.connections + 1024:
        print(f"warning: only {limit} open files allowed; connections may fail", file=sys.stderr)
    banner(f"{args.connections:,} idle authenticated WebSocket connections")
    if args.server_env:
        print(f"   Pulseboard server environment: {' '.join(args.server_env)}\n")
    rows = []
    with scratch_directory() as directory:
        for name in [s.strip() for s in args.servers.split(",")]:
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
                database = Database("sqlite", directory)
                try:
                    server = PulseboardServer(
                        database,
                        log_dir=directory,
                        running=[],
                        env={
                            "PULSEBOARD_IDLE_TIMEOUT": "3600",
                            **dict(item.split("=", 1) for item in args.server_env),
                        },
                    )
                    server.prepare()
                    with server:
                        rows.append(
                            measure(
                                "pulseboard",
                                f"{server.ws_url}/ws/live/?token={server.token}",
                                server.pid,
                                args,
                            )
                        )
                finally:
                    database.drop()
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
    print("\nTargets:")
    if pb and base:
        ratio = pb["per_connection"] / base["per_connection"]
        print(f"  [{verdict(ratio <= 3)}] RSS per connection {ratio:.2f}× the baseline's (≤ 3×)")
    if pb:
        print(
            f"  [{verdict(pb['cpu_full'] <= 5)}] idle CPU {pb['cpu_full']:.2f} % of a core (≤ 5 %)"
        )
        if pb["connections"] < args.connections:
            print(
                f"  [MISSED] only {pb['connections']:,} of {args.connections:,} connections opened"
            )
    print(f"\nload at the end: {uptime()}")


if __name__ == "__main__":
    main()
