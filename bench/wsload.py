"""The WebSocket load client: many connections per process, asyncio + websockets.

A parent starts a few client processes (`LoadClients`); each opens its share of
connections, reports when they are all up (each has had its first data frame, or
for idle connections its greeting), receives a measuring window (wall
clock), counts what arrives in it, and reports figures when the window is over.

Delivered samples are those stamped (`t`) inside the window that arrived by the
window's end plus a grace of one second, so a server catching up on a backlog is
not credited with more than it offered, and one falling behind is not credited
with what arrives too late.

Only what is needed is parsed: the first and last `"seq":` and `"t":` of a frame,
found with bytes.find / rfind on the undecoded frame. `data` frames carry
contiguous seq, so a frame's sample count is last − first + 1 and each sample's
latency (receive time − its `t`) lies between those of the first and the last
sample; the latency histogram spreads a frame's samples evenly over that range.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue
import time
from dataclasses import dataclass, field
from typing import Any

SEQ = b'"seq":'
T = b'"t":'
DATA_PREFIXES = (b'{"type":"data"', b'{"seq"')
HISTOGRAM_MS = 120_000  # latencies past two minutes land in the last bucket


def parse_frame(data: bytes) -> tuple[int, int, int, int] | None:
    """Return (first seq, its t, last seq, its t) of a data frame, or None for other frames."""
    if not data.startswith(DATA_PREFIXES):
        return None
    i = data.find(SEQ)
    if i < 0:
        return None
    j = data.find(b",", i)
    first = int(data[i + 6 : j])
    k = data.find(T, j)
    t_first = int(data[k + 4 : data.find(b",", k)])
    i2 = data.rfind(SEQ)
    if i2 == i:
        return first, t_first, first, t_first
    j2 = data.find(b",", i2)
    last = int(data[i2 + 6 : j2])
    k2 = data.find(T, j2)
    return first, t_first, last, int(data[k2 + 4 : data.find(b",", k2)])


@dataclass
class Plan:
    """What one client process does."""

    url: str
    connections: int
    subscribe: str | None = None  # text sent after `hello`
    idle: bool = False  # hold the connections only, count nothing
    connect_concurrency: int = 64
    connect_deadline: float = 90.0  # connections not up by then are given up
    grace: float = 1.0  # a sample of the window counts if it arrives this long after it


@dataclass
class Tally:
    """What one connection saw."""

    last_seq: int = 0
    samples: float = 0.0  # samples stamped inside the window that arrived by its end + grace
    frames: int = 0  # received in the window
    holes: int = 0  # in the window
    missing: int = 0  # samples skipped by those holes
    duplicates: int = 0  # frames repeating a seq already seen
    latencies: list[tuple[int, int, int]] = field(default_factory=list)  # (low, high, n)


class Window:
    start = float("inf")  # seconds
    end = float("inf")
    start_ms = 2**62  # the same, in ms, to compare with sample `t`
    end_ms = -1


async def connection_task(
    plan: Plan, gate: asyncio.Semaphore, tally: Tally, ready: asyncio.Event, window: type[Window]
) -> None:
    from websockets.asyncio.client import connect

    async with gate:
        ws = await connect(
            plan.url,
            compression=None,
            max_size=None,
            ping_interval=None,
            open_timeout=120,
            close_timeout=1,
            max_queue=64,
        )
    try:
        await ws.recv(decode=False)  # hello
        if plan.subscribe:
            await ws.send(plan.subscribe)
        if plan.idle:
            ready.set()
            async for _ in ws:  # an idle viewer of a stream takes its frames, counts nothing
                pass
            return
        while True:
            data = await ws.recv(decode=False)
            received = time.time()
            parsed = parse_frame(bytes(data))
            if parsed is None:
                continue
            ready.set()  # up: the first data frame has arrived
            first, t_first, last, t_last = parsed
            inside = window.start <= received <= window.end
            if tally.last_seq:
                if last <= tally.last_seq or first <= tally.last_seq:
                    tally.duplicates += 1
                elif first > tally.last_seq + 1 and inside:
                    tally.holes += 1
                    tally.missing += first - tally.last_seq - 1
            if last > tally.last_seq:
                tally.last_seq = last
            count = last - first + 1
            low, high = max(t_first, window.start_ms), min(t_last, window.end_ms)
            if high >= low:
                # The frame's samples stamped inside the window (t spreads evenly over the frame).
                tally.samples += (
                    count * (high - low + 1) / (t_last - t_first + 1) if t_last > t_first else count
                )
            if inside:
                now_ms = int(received * 1000)
                tally.frames += 1
                tally.latencies.append((now_ms - t_last, now_ms - t_first, count))
    finally:
        ws.transport.abort()


def latency_histogram(tallies: list[Tally]) -> list[float]:
    """Samples per 1 ms latency bucket, each frame's samples spread over its range."""
    diff = [0.0] * (HISTOGRAM_MS + 2)
    top = HISTOGRAM_MS
    for tally in tallies:
        for low, high, n in tally.latencies:
            low = min(max(low, 0), top)
            high = min(max(high, low), top)
            weight = n / (high - low + 1)
            diff[low] += weight
            diff[high + 1] -= weight
    histogram, running = [], 0.0
    for step in diff[:-1]:
        running += step
        histogram.append(running)
    return histogram


def histogram_percentile(histogram: list[float], q: float) -> float:
    total = sum(histogram)
    if total <= 0:
        return float("nan")
    goal, seen = total * q / 100, 0.0
    for ms, count in enumerate(histogram):
        seen += count
        if seen >= goal:
            return float(ms)
    return float(len(histogram) - 1)


def histogram_max(histogram: list[float]) -> float:
    for ms in range(len(histogram) - 1, -1, -1):
        if histogram[ms] > 1e-9:
            return float(ms)
    return float("nan")


async def run_client(plan: Plan, control: Any, report: Any) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(plan.connect_concurrency)
    tallies = [Tally() for _ in range(plan.connections)]
    readies = [asyncio.Event() for _ in range(plan.connections)]
    tasks = [
        asyncio.create_task(connection_task(plan, gate, tally, ready, Window))
        for tally, ready in zip(tallies, readies, strict=True)
    ]
    # Wait until every connection is up or failed, or the deadline passes.
    deadline = time.monotonic() + plan.connect_deadline
    late = 0
    while True:
        up = sum(ready.is_set() for ready in readies)
        failed = sum(
            task.done() and not ready.is_set() for task, ready in zip(tasks, readies, strict=True)
        )
        if up + failed >= plan.connections:
            break
        if time.monotonic() > deadline:
            for task, ready in zip(tasks, readies, strict=True):
                if not ready.is_set() and not task.done():
                    task.cancel()
                    late += 1
            break
        await asyncio.sleep(0.05)
    errors = sorted(
        {
            repr(task.exception())[:200]
            for task in tasks
            if task.done() and not task.cancelled() and task.exception()
        }
    )
    if late:
        errors.append(f"{late} not connected after {plan.connect_deadline:g} s")
    failed += late
    report.put(("ready", up, failed, errors[:3]))
    command = await loop.run_in_executor(None, control.get)
    if command[0] == "window":
        Window.start, Window.end = command[1], command[2]
        Window.start_ms, Window.end_ms = int(command[1] * 1000), int(command[2] * 1000) - 1
        await asyncio.sleep(max(0.0, Window.end + plan.grace - time.time()))
    elif command[0] == "hold":
        await loop.run_in_executor(None, control.get)
    lost = sum(task.done() for task in tasks) - failed
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    if plan.idle:
        report.put(("result", {"connections": up, "lost": lost}))
        return
    seen = [t for t in tallies if t.last_seq]
    report.put(
        (
            "result",
            {
                "connections": up,
                "lost": lost,
                "samples": round(sum(t.samples for t in tallies)),
                "frames": sum(t.frames for t in tallies),
                "holes": sum(t.holes for t in tallies),
                "clients_with_holes": sum(1 for t in tallies if t.holes),
                "missing": sum(t.missing for t in tallies),
                "duplicates": sum(t.duplicates for t in tallies),
                "silent": plan.connections - len(seen),
                "histogram": latency_histogram(tallies),
            },
        )
    )


def client_main(plan: Plan, control: Any, report: Any) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        asyncio.run(run_client(plan, control, report))
    except Exception as error:  # reported, so the parent does not wait forever
        report.put(("error", repr(error)))


class LoadClients:
    """Client processes sharing `connections` between them."""

    def __init__(
        self,
        url: str,
        connections: int,
        processes: int,
        *,
        subscribe: str | None = None,
        idle: bool = False,
        connect_concurrency: int = 64,
        connect_deadline: float = 90.0,
    ):
        context = multiprocessing.get_context("spawn")
        self.report: Any = context.Queue()
        self.controls: list[Any] = []
        self.processes: list[Any] = []
        processes = max(1, min(processes, connections))
        for index in range(processes):
            share = connections // processes + (1 if index < connections % processes else 0)
            control = context.Queue()
            plan = Plan(url, share, subscribe, idle, connect_concurrency, connect_deadline)
            process = context.Process(
                target=client_main, args=(plan, control, self.report), daemon=True
            )
            process.start()
            self.controls.append(control)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def _collect(self, kind: str, timeout: float) -> list[tuple[Any, ...]]:
        replies: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + timeout
        while len(replies) < len(self.processes):
            try:
                reply = self.report.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"client processes did not report {kind!r} in time") from None
            if reply[0] == "error":
                raise RuntimeError(f"a client process failed: {reply[1]}")
            replies.append(reply)
        return replies

    def wait_ready(self, timeout: float = 300) -> tuple[int, int, list[str]]:
        replies = self._collect("ready", timeout)
        errors = [e for r in replies for e in r[3]]
        return sum(r[1] for r in replies), sum(r[2] for r in replies), errors

    def measure(self, start: float, end: float) -> None:
        for control in self.controls:
            control.put(("window", start, end))

    def hold(self) -> None:
        for control in self.controls:
            control.put(("hold",))

    def release(self) -> None:
        for control in self.controls:
            control.put(("release",))

    def results(self, timeout: float = 120) -> list[dict[str, Any]]:
        return [r[1] for r in self._collect("result", timeout)]

    def close(self) -> None:
        for process in self.processes:
            process.join(timeout=15)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
