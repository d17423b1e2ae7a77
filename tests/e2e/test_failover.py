"""A producer that dies or freezes: its streams go on elsewhere within 2 s, never from two at once.

Real `manage.py produce` workers on one database and a private Redis, with the
default lease settings. A listener on Redis hears every frame any worker
publishes for the 1 kHz sine (before any web process trims them by seq), so a
seq published twice — a frozen worker waking and publishing what another already
did — is seen, and so is the silence between the last frame of a killed worker
and the first of the one that takes over.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from streams.fanout.layer import RedisLayer
from tests.e2e.servers import drop_database, e2e_database
from tests.processes import (
    PYTHON,
    RedisServer,
    database_prepare,
    kill_process,
    run_manage,
    server_env,
    spawn,
    stop_process,
)

pytestmark = pytest.mark.e2e

STREAM = "sine.1khz"
TAKE_OVER_SECONDS = 2.0


@dataclass
class Workers:
    """`manage.py produce` workers by name, on one database and one Redis."""

    env: dict[str, str]
    log_dir: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str) -> None:
        self.running[name] = spawn(
            [PYTHON, "manage.py", "produce"], env=self.env, log_path=self.log_dir / f"{name}.log"
        )

    def started(self, name: str, within: float = 60) -> None:
        """Return once the worker's producer runs (its log says so)."""
        deadline = time.monotonic() + within
        while "starting" not in self.log(name):
            assert self.running[name].poll() is None, self.log(name)[-3000:]
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.1)

    def holder(self) -> str:
        """Return the name of the worker whose process holds the stream's lease."""
        script = (
            "from streams.models import StreamLease; "
            f"print(StreamLease.objects.get(stream__slug={STREAM!r}).holder)"
        )
        holder = run_manage(self.env, "shell", "-c", script).splitlines()[-1]
        pid = int(holder.split(":")[1]) if holder.count(":") == 2 else -1
        for name, process in self.running.items():
            if process.pid == pid:
                return name
        raise AssertionError(f"the lease is held by {holder!r}, none of {list(self.running)}")

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[Workers, str]]:
    database_url, pg_name = e2e_database(tmp_path)
    with RedisServer(tmp_path) as redis:
        env = server_env(database_url, redis_url=redis.url)
        database_prepare(env, running=[STREAM])
        pool = Workers(env=env, log_dir=tmp_path)
        try:
            yield pool, redis.url
        finally:
            for process in pool.running.values():
                stop_process(process)
    if pg_name:
        drop_database(pg_name)


class Published:
    """Every frame of the stream on Redis: its seqs and when it came."""

    def __init__(self, redis_url: str):
        self.layer = RedisLayer(url=redis_url, options=settings.REDIS_CONNECTION_OPTIONS)
        self.frames: list[tuple[float, int, int]] = []  # (arrival, first, last)
        self.times: dict[int, int] = {}  # seq → t, the samples' own clock

    async def listen(self, stop: asyncio.Event) -> None:
        channel = await self.layer.new_channel()
        await self.layer.group_add(f"stream.{STREAM}", channel)
        receiving: asyncio.Future[Any] | None = None
        while not stop.is_set():
            # A receive is never cancelled while it waits: that would give the channel up.
            receiving = receiving or asyncio.ensure_future(self.layer.receive(channel))
            done, _ = await asyncio.wait({receiving}, timeout=0.2)
            if not done:
                continue
            message, receiving = receiving.result(), None
            if message["type"] == "stream.frame":
                self.frames.append((time.monotonic(), message["first"], message["last"]))
                for sample in json.loads(message["text"])["samples"]:
                    self.times[sample["seq"]] = sample["t"]
        if receiving is not None:
            receiving.cancel()

    async def wait_for_frames(self, count: int, within: float = 30) -> None:
        goal = len(self.frames) + count
        deadline = time.monotonic() + within
        while len(self.frames) < goal:
            assert time.monotonic() < deadline, f"only {len(self.frames)} frames of {goal}"
            await asyncio.sleep(0.05)

    def silence_after(self, moment: float) -> float:
        """Return the longest time without a frame from just before `moment` on."""
        arrivals = [arrival for arrival, _, _ in self.frames]
        before = [arrival for arrival in arrivals if arrival <= moment]
        after = [arrival for arrival in arrivals if arrival > moment]
        assert after, "no frame came after that moment"
        points = [before[-1] if before else moment, *after]
        return max(b - a for a, b in itertools.pairwise(points))

    def longest_gap_in_t(self) -> int:
        """Return the longest time, by the samples' own `t`, between published seqs (ms)."""
        times = [self.times[seq] for seq in sorted(self.times)]
        return max(b - a for a, b in itertools.pairwise(times))

    def assert_no_seq_twice(self) -> None:
        """No seq was published twice (a hole is allowed: stored, not yet published, when
        its worker died; viewers fill it from history, which `stored_seqs_are_whole` checks)."""
        seqs = sorted(seq for _, first, last in self.frames for seq in range(first, last + 1))
        twice = sorted({a for a, b in itertools.pairwise(seqs) if a == b})
        assert not twice, f"published twice: {twice[:10]} …"


def stored_seqs_are_whole(env: dict[str, str]) -> None:
    script = (
        "from streams.models import Sample; "
        f"seqs = list(Sample.objects.filter(stream__slug={STREAM!r})"
        ".order_by('seq').values_list('seq', flat=True)); "
        "print(len(seqs), seqs[0], seqs[-1])"
    )
    count, first, last = map(int, run_manage(env, "shell", "-c", script).splitlines()[-1].split())
    assert (first, count) == (1, last), f"stored: {count} samples from {first} to {last}"


async def test_a_killed_worker_is_replaced_within_two_seconds_without_hole_or_double(
    workers: tuple[Workers, str],
) -> None:
    pool, redis_url = workers
    published = Published(redis_url)
    stop = asyncio.Event()
    listening = asyncio.create_task(published.listen(stop))
    try:
        pool.start("worker-a")
        await published.wait_for_frames(20)
        pool.start("worker-b")
        await asyncio.to_thread(pool.started, "worker-b")
        silences = []
        for round_ in range(2):
            await asyncio.sleep(1)
            victim = await asyncio.to_thread(pool.holder)
            killed_at = time.monotonic()
            kill_process(pool.running.pop(victim))
            await published.wait_for_frames(20)
            silences.append(published.silence_after(killed_at))
            print(f"kill -9 of {victim} (round {round_ + 1}): {silences[-1]:.2f} s of silence")
            pool.start(f"worker-{'cd'[round_]}")
            await asyncio.to_thread(pool.started, f"worker-{'cd'[round_]}")
    finally:
        stop.set()
        await listening
    published.assert_no_seq_twice()
    print(f"longest gap between published samples' t: {published.longest_gap_in_t()} ms")
    assert max(silences) <= TAKE_OVER_SECONDS, silences
    stored_seqs_are_whole(pool.env)


async def test_a_frozen_worker_that_wakes_publishes_and_stores_nothing_of_the_stream(
    workers: tuple[Workers, str],
) -> None:
    pool, redis_url = workers
    published = Published(redis_url)
    stop = asyncio.Event()
    listening = asyncio.create_task(published.listen(stop))
    try:
        pool.start("worker-a")
        await published.wait_for_frames(20)
        pool.start("worker-b")
        await asyncio.to_thread(pool.started, "worker-b")
        await asyncio.sleep(1)
        frozen = await asyncio.to_thread(pool.holder)
        process = pool.running[frozen]
        paused_at = time.monotonic()
        process.send_signal(signal.SIGSTOP)  # its sockets stay open, nothing runs
        await published.wait_for_frames(20)
        silence = published.silence_after(paused_at)
        await asyncio.sleep(3)  # its lease is long gone
        process.send_signal(signal.SIGCONT)  # it wakes mid-tick, believing it still owns the stream
        woke_at = time.monotonic()
        await asyncio.sleep(3)
        assert await asyncio.to_thread(pool.holder) != frozen
        after_waking = [first for arrival, first, _ in published.frames if arrival > woke_at]
        assert after_waking, "the stream stopped once the frozen worker woke"
    finally:
        stop.set()
        await listening
    print(f"SIGSTOP of {frozen}: {silence:.2f} s of silence")
    published.assert_no_seq_twice()
    assert silence <= TAKE_OVER_SECONDS, silence
    stored_seqs_are_whole(pool.env)
    assert "producer runs" in pool.log(frozen)
