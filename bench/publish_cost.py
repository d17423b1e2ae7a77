"""Publisher cost per frame against the number of viewers (group members).

Times the producer's publish call — `channel_layer.group_send("stream.<slug>",
{type, stream, text, first, last})` with a real 50-sample `data` frame, as
`Producer.tick` sends it — for N members of the group, with:

- the in-process layer (`streams.fanout.layer.InProcessLayer`, capacity 500, as
  settings make it without REDIS_URL): members in the publisher's process, their
  queues emptied between calls outside the timed region;
- the Redis layer (`streams.fanout.layer.RedisLayer`, as settings make it with
  REDIS_URL) on a private redis-server: members in another process (a web
  process), which drains them.

Run alone: .venv/bin/python bench/publish_cost.py [--members 1,10,100,1000]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from common import RedisServer, banner, fmt, scratch_directory, table, uptime, verdict

SLUG = "sine.1khz"
GROUP = f"stream.{SLUG}"


def sample_message(first: int = 1, count: int = 50) -> dict[str, Any]:
    """The message Producer.tick sends for one 50 ms tick of a 1 kHz sine."""
    import orjson

    now = int(time.time() * 1000)
    samples = [
        {"seq": first + i, "t": now + i, "values": {"value": round(0.5 + i / 1000, 6)}}
        for i in range(count)
    ]
    text = orjson.dumps({"type": "data", "stream": SLUG, "samples": samples}).decode()
    return {
        "type": "stream.frame",
        "stream": SLUG,
        "text": text,
        "first": first,
        "last": first + count - 1,
    }


async def time_calls(layer: Any, calls: int, warmup: int, between: Any = None) -> list[float]:
    message = sample_message()
    timings = []
    for index in range(warmup + calls):
        started = time.perf_counter()
        await layer.group_send(GROUP, message)
        elapsed = time.perf_counter() - started
        if index >= warmup:
            timings.append(elapsed)
        if between is not None:
            between()
    return timings


async def in_memory(members: int, calls: int, warmup: int) -> list[float]:
    from streams.fanout.layer import InProcessLayer

    layer = InProcessLayer(capacity=500)
    for _ in range(members):
        await layer.group_add(GROUP, await layer.new_channel())

    def drain() -> None:
        # What the consumers would take; outside the timed region.
        for mailbox in layer.parts().hub.mailboxes.values():
            while not mailbox.queue.empty():
                mailbox.queue.get_nowait()

    return await time_calls(layer, calls, warmup, drain)


def redis_members(url: str, members: int, ready: Any, done: Any) -> None:
    """A 'web process': N members of the group, each draining its channel."""

    async def main() -> None:
        from streams.fanout.layer import RedisLayer

        layer = RedisLayer(url=url, capacity=500)
        channels = [await layer.new_channel() for _ in range(members)]
        for channel in channels:
            await layer.group_add(GROUP, channel)

        async def drain(channel: str) -> None:
            while True:
                await layer.receive(channel)

        tasks = [asyncio.create_task(drain(c)) for c in channels]
        await asyncio.sleep(0.5)
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, done.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await layer.flush()

    asyncio.run(main())


async def redis_publish(url: str, members: int, calls: int, warmup: int) -> list[float]:
    from streams.fanout.layer import RedisLayer

    context = multiprocessing.get_context("spawn")
    ready, done = context.Event(), context.Event()
    process = context.Process(target=redis_members, args=(url, members, ready, done), daemon=True)
    process.start()
    try:
        if not await asyncio.get_running_loop().run_in_executor(None, ready.wait, 120):
            raise TimeoutError("the member process did not get ready")
        layer = RedisLayer(url=url)
        try:
            return await time_calls(layer, calls, warmup)
        finally:
            await layer.flush()
    finally:
        done.set()
        process.join(timeout=15)
        if process.is_alive():
            process.terminate()


def summary(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered) * 1e6, ordered[int(0.99 * (len(ordered) - 1))] * 1e6


def measure(
    members_list: list[int], calls: int, warmup: int, layers: list[str], rounds: int = 3
) -> list[dict]:
    """Time every group size `rounds` times, interleaved; keep each size's best round."""
    best: dict[tuple[str, int], tuple[float, float]] = {}
    with scratch_directory() as directory:
        redis = RedisServer(directory) if "redis" in layers else None
        try:
            if redis:
                redis.start()
            for _ in range(rounds):
                for layer in layers:
                    for members in members_list:
                        if layer == "memory":
                            timings = asyncio.run(in_memory(members, calls, warmup))
                        else:
                            assert redis is not None
                            timings = asyncio.run(redis_publish(redis.url, members, calls, warmup))
                        p50, p99 = summary(timings)
                        key = (layer, members)
                        if key not in best or p50 < best[key][0]:
                            best[key] = (p50, p99)
        finally:
            if redis:
                redis.stop()
    return [
        {
            "layer": layer,
            "members": members,
            "p50_us": best[layer, members][0],
            "p99_us": best[layer, members][1],
        }
        for layer in layers
        for members in members_list
    ]


def report(rows: list[dict]) -> list[tuple[str, float, bool]]:
    """Print the table; return (layer, ratio largest/smallest N, met) per layer."""
    print(
        "Publisher cost per frame (group_send of one 50-sample frame), µs "
        "(the best of 3 interleaved rounds):"
    )
    layers = list(dict.fromkeys(row["layer"] for row in rows))
    out = []
    printed = []
    for layer in layers:
        mine = [row for row in rows if row["layer"] == layer]
        base = mine[0]["p50_us"]
        for row in mine:
            printed.append(
                [
                    "in-memory" if layer == "memory" else "Redis pub/sub",
                    row["members"],
                    fmt(row["p50_us"]),
                    fmt(row["p99_us"]),
                    f"{row['p50_us'] / base:.2f}×",
                ]
            )
        ratio = mine[-1]["p50_us"] / base
        out.append((layer, ratio, ratio <= 1.2))
    print(table(["layer", "members", "p50 µs", "p99 µs", "p50 vs fewest"], printed))
    for layer, ratio, ok in out:
        first, last = rows[0]["members"], rows[-1]["members"]
        print(
            f"  {layer}: cost at {last} members / at {first} = {ratio:.2f}× "
            f"(target ≤ 1.2×: {verdict(ok)})"
        )
    print(f"  load: {uptime()}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", default="1,10,100,1000", help="group sizes, comma-separated")
    parser.add_argument("--calls", type=int, default=1000, help="timed calls per group size")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--layers", default="memory,redis", help="memory, redis or both")
    args = parser.parse_args()
    banner("Publisher cost per frame vs viewers")
    rows = measure(
        [int(m) for m in args.members.split(",")],
        args.calls,
        args.warmup,
        [layer.strip() for layer in args.layers.split(",")],
    )
    report(rows)


if __name__ == "__main__":
    main()
