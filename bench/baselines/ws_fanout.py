"""Baseline fan-out servers: a bare `websockets` server with a 1 kHz sine.

--mode per-sample: the tutorial design, one message per sample to every client
                   ({"seq", "t", "value"}, `websockets.broadcast`).
--mode batched:    the same samples batched per 50 ms tick in one `data` frame of
                   the shape Pulseboard sends, encoded once and broadcast (the
                   near-limit reference).
--mode idle:       no samples; every client gets a `hello` and is kept open
                   (for the idle-connections benchmark).

Samples are stamped with the time they were due (like Pulseboard's clocked
sources), so the offered rate is exactly `--rate` whatever the loop keeps up with.
Any path and query string are accepted; what clients send is read and ignored.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import time

from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    await connection.send(json.dumps({"type": "hello", "server_time": int(time.time() * 1000)}))
    CLIENTS.add(connection)
    try:
        async for _ in connection:
            pass
    finally:
        CLIENTS.discard(connection)


def value_at(t: int, frequency: float, amplitude: float) -> float:
    return round(amplitude * math.sin(2 * math.pi * frequency * (t / 1000)), 6)


async def produce(args: argparse.Namespace) -> None:
    interval = 1000 / args.rate
    next_t = time.time() * 1000
    seq = 0
    while True:
        started = time.time()
        now = started * 1000
        due = []
        while next_t <= now:
            seq += 1
            t = int(next_t)
            due.append((seq, t, value_at(t, args.frequency, args.amplitude)))
            next_t += interval
        if args.mode == "per-sample":
            for s, t, v in due:
                broadcast(CLIENTS, json.dumps({"seq": s, "t": t, "value": v}))
            await asyncio.sleep(0.001)
        else:
            if due:
                samples = [{"seq": s, "t": t, "values": {"value": v}} for s, t, v in due]
                frame = json.dumps(
                    {"type": "data", "stream": "sine", "samples": samples}, separators=(",", ":")
                )
                broadcast(CLIENTS, frame)
            await asyncio.sleep(max(0.0, args.tick - (time.time() - started)))


async def main(args: argparse.Namespace) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        handler, "127.0.0.1", args.port, compression=None, max_size=2**20, backlog=4096
    ):
        producer = None
        if args.mode != "idle":
            producer = asyncio.create_task(produce(args))
        await stop
        if producer:
            producer.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=["per-sample", "batched", "idle"], default="batched")
    parser.add_argument("--rate", type=float, default=1000.0, help="samples per second")
    parser.add_argument("--tick", type=float, default=0.05, help="batch interval, seconds")
    parser.add_argument("--frequency", type=float, default=1.0)
    parser.add_argument("--amplitude", type=float, default=1.0)
    asyncio.run(main(parser.parse_args()))
