"""Clients that never read: the server's memory stays flat and the others stay on time.

For each channel layer (in-memory, Redis), one `manage.py serve` with the 1 kHz sine:

  baseline   N live clients measured alone (`--seconds`)
  with slow  the same N measured again while S more clients, subscribed to the same
             stream, never read a byte (raw sockets with a small receive buffer)

It prints the live clients' delivery and p99 in both rounds, the server's RSS
sampled every few seconds during the slow round, and the server's counters of
frames dropped for full queues and clients dropped for not answering pings.
Targets: RSS grows by at most `--rss-mib` over the slow round; the live clients'
p99 stays within 1.5× of the baseline's and they get ≥ 99 % of what is offered.

  .venv/bin/python bench/slow_clients.py --live 200 --slow 50 --seconds 60
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    Database,
    PulseboardServer,
    RedisServer,
    banner,
    mib,
    raise_open_files,
    scratch_directory,
    table,
    uptime,
    verdict,
)
from fanout import SLUG, SUBSCRIBE, attempt, scrape_metrics


def masked_text_frame(text: str) -> bytes:
    """Return a client's WebSocket text frame (clients must mask what they send)."""
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def slow_client(host: str, port: int, path: str) -> socket.socket:
    """Open a WebSocket, subscribe, and never read again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    sock.recv(1024)  # the 101 answer (and perhaps the greeting); nothing more is read
    sock.sendall(masked_text_frame(SUBSCRIBE))
    return sock


def rss_sampler(pid: int, every: float, stop: threading.Event, samples: list[int]) -> None:
    process = psutil.Process(pid)
    while not stop.wait(every):
        with contextlib.suppress(psutil.Error):
            samples.append(process.memory_info().rss)


def measure_layer(args: argparse.Namespace, layer: str, directory: Path) -> dict[str, Any]:
    redis = RedisServer(directory) if layer == "redis" else None
    database = Database("sqlite", directory)
    try:
        if redis:
            redis.start()
        server = PulseboardServer(
            database,
            log_dir=directory,
            redis_url=redis.url if redis else None,
            running=[SLUG],
        )
        server.prepare()
        with server:
            url = f"{server.ws_url}/ws/live/?token={server.token}"
            common = {
                "url": url,
                "subscribe": SUBSCRIBE,
                "server_pid": server.pid,
                "clients": args.live,
                "processes": 1,
                "warmup": 2,
            }
            alone = attempt(label=f"{layer}: live alone", seconds=10, **common)
            before = scrape_metrics(server) or {}
            host, port = server.base_url.split("//")[1].split(":")
            slow = [
                slow_client(host, int(port), f"/ws/live/?token={server.token}")
                for _ in range(args.slow)
            ]
            samples: list[int] = []
            stop = threading.Event()
            sampler = threading.Thread(target=rss_sampler, args=(server.pid, 5, stop, samples))
            sampler.start()
            try:
                beside = attempt(
                    label=f"{layer}: live beside {args.slow} that never read",
                    seconds=args.seconds,
                    **common,
                )
            finally:
                stop.set()
                sampler.join()
                for sock in slow:
                    sock.close()
            after = scrape_metrics(server) or {}
    finally:
        if redis:
            redis.stop()
        database.drop()
    counters = {
        name: after.get(name, 0) - before.get(name, 0)
        for name in ("pulseboard_frames_dropped_total", "pulseboard_clients_dropped_total")
    }
    return {"alone": alone, "beside": beside, "rss": samples, "counters": counters}


def report(layer: str, result: dict[str, Any], rss_limit: float) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    rows = [*result["alone"], *result["beside"]]
    print(
        table(
            ["round", "delivered %", "p99 ms", "srv CPU %", "srv RSS MiB"],
            [
                [
                    r["server"],
                    f"{100 * r['delivered_per_s'] / r['offered_per_s']:.1f}",
                    f"{r['p99']:.0f}",
                    f"{r['cpu_pct']:.0f}",
                    mib(r["rss"]),
                ]
                for r in rows
            ],
        )
    )
    rss = result["rss"]
    if rss:
        print(f"   RSS during the slow round (every 5 s, MiB): {[round(v / 2**20) for v in rss]}")
        growth = (max(rss) - rss[0]) / 2**20
        checks.append(
            (f"{layer}: RSS grew {growth:.1f} MiB ≤ {rss_limit:g} MiB", growth <= rss_limit)
        )
    print(f"   counters during the slow round: {result['counters']}")
    if result["alone"] and result["beside"]:
        alone, beside = result["alone"][0], result["beside"][0]
        share = beside["delivered_per_s"] / beside["offered_per_s"]
        checks.append((f"{layer}: live clients got {100 * share:.1f} % ≥ 99 %", share >= 0.99))
        ratio = beside["p99"] / max(alone["p99"], 1)
        checks.append((f"{layer}: live p99 {ratio:.2f}× the baseline's ≤ 1.5×", ratio <= 1.5))
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--live", type=int, default=200)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--layer", default="memory,redis")
    parser.add_argument("--rss-mib", type=float, default=30.0)
    args = parser.parse_args()
    raise_open_files(4 * (args.live + args.slow) + 1024)
    banner(f"{args.slow} clients that never read beside {args.live} live ones, {args.seconds:g} s")
    checks = []
    with scratch_directory() as directory:
        for layer in args.layer.split(","):
            print(f"-- {layer} layer", flush=True)
            checks += report(layer, measure_layer(args, layer, directory), args.rss_mib)
    print("\nTargets:")
    for text, ok in checks:
        print(f"  [{verdict(ok)}] {text}")
    print(f"\nload at the end: {uptime()}")


if __name__ == "__main__":
    main()
