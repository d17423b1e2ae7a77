"""A cluster on a Sentinel-watched Redis: the master is killed under 1,000 samples a second.

Two web processes and a worker find Redis through REDIS_SENTINELS alone (a private
master, its replica and three sentinels, tests/sentinel_set.py). Viewers on both
web processes watch the 1 kHz sine; the master is killed. Every viewer must hold
every seq once, hear nothing for at most 5 s, and be live again within 5 s of the
kill: a sample made after the kill reaches it within 250 ms (or within the p99
latency of its samples in the two seconds before the kill, if that is more). The
longest silence, the time to live and each viewer's half-second timeline are
printed; on a machine loaded past its cores the two times are not held to 5 s.

The chaos test goes on from there: the master killed, then the worker that
produces the stream killed, the ones that take it over frozen (SIGSTOP) in turn
and woken, and a web process killed, its viewers moving to the other; every
viewer holds every seq once, and the longest silence any of them had is printed
and held to 5 s.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.servers import drop_database, e2e_database
from tests.e2e.test_cluster import Cluster, Watcher, assert_each_once
from tests.processes import DaphneWebServer, database_prepare, server_env
from tests.sentinel_set import SentinelSet
from tests.support.machine import overload

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

STREAM = "sine.1khz"
LIVE_WITHIN_SECONDS = 5.0
LIVE_P99_MS = 250.0
WATCH_AFTER_KILL_SECONDS = 12.0


@dataclass
class SentinelCluster(Cluster):
    sentinels: SentinelSet | None = None


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    """Each test's own: a Sentinel set, Daphne and uvicorn web processes, one worker."""
    tmp = tmp_path_factory.mktemp("sentinel-cluster")
    database_url, pg_name = e2e_database(tmp)
    with SentinelSet(tmp / "redis") as sentinels:
        env = server_env(
            database_url,
            REDIS_SENTINELS=sentinels.addresses,
            PULSEBOARD_RECONCILE_SECONDS="0.5",
            PULSEBOARD_MAX_CONNECTIONS_PER_USER="100",
        )
        database_prepare(env, running=[STREAM])
        cluster = SentinelCluster(redis=sentinels.master, env=env, log_dir=tmp, sentinels=sentinels)
        try:
            cluster.web("web-1", DaphneWebServer)
            cluster.web("web-2")
            cluster.worker("worker-a")
            yield cluster
        finally:
            for name in [*cluster.webs, *cluster.workers]:
                cluster.kill(name)
    if pg_name:
        drop_database(pg_name)


class TimedWatcher(Watcher):
    """A watcher that also notes, per sample, when it arrived (wall clock, s) and its latency (ms)."""

    def __init__(self, url: str, stream: str, *, also: tuple[str, ...] = ()):
        self.arrivals: list[tuple[float, float]] = []
        super().__init__(url, stream, also=also)

    def take(self, samples: list[dict[str, Any]]) -> None:
        now = time.time()
        super().take(samples)
        self.arrivals.extend((now, now * 1000 - sample["t"]) for sample in samples)

    def p99_before(self, moment: float, seconds: float = 2.0) -> float:
        """Return the p99 latency (ms) of the samples that arrived in the `seconds` before `moment`."""
        window = sorted(
            latency for arrived, latency in self.arrivals if moment - seconds <= arrived < moment
        )
        assert window, f"no sample arrived in the {seconds:.0f} s before the kill"
        return window[min(len(window) - 1, int(len(window) * 0.99))]

    def timeline(self, killed_at: float) -> list[tuple[float, int, int, int]]:
        """Return, per half second from one second before the kill: (its start, samples, min and max latency ms)."""
        rows: dict[int, list[float]] = {}
        for arrived, latency in self.arrivals:
            rows.setdefault(math.floor((arrived - killed_at) * 2), []).append(latency)
        return [
            (index / 2, len(latencies), round(min(latencies)), round(max(latencies)))
            for index, latencies in sorted(rows.items())
            if index >= -2
        ]

    def longest_silence(self, since: float) -> float:
        """Return the longest time (s) after `since` in which no sample arrived."""
        times = [since] + [arrived for arrived, _ in self.arrivals if arrived > since]
        return max(later - earlier for earlier, later in itertools.pairwise(times))

    def live_again_after(self, killed_at: float, within_ms: float) -> float:
        """Return the seconds from `killed_at` until a sample made after it arrives within `within_ms`."""
        for arrived, latency in self.arrivals:
            made = arrived - latency / 1000
            if made > killed_at and latency <= within_ms:
                return arrived - killed_at
        return math.inf


async def test_viewers_hold_every_seq_once_and_are_live_within_5_s_of_the_master_being_killed(
    cluster: SentinelCluster,
) -> None:
    sentinels = cluster.sentinels
    assert sentinels is not None
    viewers = [TimedWatcher(cluster.live_url(name), STREAM) for name in ("web-1", "web-2")]
    try:
        for viewer in viewers:
            await viewer.wait_for_more(2000, within=30)
        old_port = sentinels.master.port
        killed_at = time.time()
        sentinels.master.kill()
        failover = await asyncio.to_thread(sentinels.wait_failover, old_port)
        await asyncio.sleep(max(0.0, killed_at + WATCH_AFTER_KILL_SECONDS - time.time()))
    finally:
        for viewer in viewers:
            await viewer.stop()
    # p99 ≤ 250 ms, or on a machine too loaded for that, no worse than before the kill.
    within = [max(LIVE_P99_MS, viewer.p99_before(killed_at)) for viewer in viewers]
    live_again = [
        viewer.live_again_after(killed_at, ms) for viewer, ms in zip(viewers, within, strict=True)
    ]
    print(
        f"\nsentinels named the new master {failover:.2f} s after the kill; viewers live again"
        f" (a sample within {', '.join(f'{ms:.0f}' for ms in within)} ms) after"
        f" {', '.join(f'{seconds:.2f}' for seconds in live_again)} s"
    )
    silences = [viewer.longest_silence(killed_at) for viewer in viewers]
    print(
        f"longest silence of each viewer: {', '.join(f'{seconds:.2f}' for seconds in silences)} s"
    )
    for viewer in viewers:
        print("(from the kill, s; samples; latency min, max ms):", viewer.timeline(killed_at))
    for viewer in viewers:
        assert_each_once(viewer.seqs)
        assert viewer.seqs[-1] - viewer.seqs[0] > 8000, "the stream did not go on after the kill"
    # Catching up on the hole is CPU work: on a machine loaded past its cores by other
    # runs it takes longer than the product's, and the times are printed, not held, there.
    busy = overload()
    if busy:
        print(f"{busy}: silence and 'live again' printed, not held to 5 s")
        return
    assert max(silences) <= LIVE_WITHIN_SECONDS, f"a viewer heard nothing for {max(silences):.1f} s"
    assert max(live_again) <= LIVE_WITHIN_SECONDS, f"live again only after {max(live_again):.1f} s"


async def test_chaos_master_workers_and_a_web_process_die_and_every_viewer_holds_every_seq_once(
    cluster: SentinelCluster,
) -> None:
    """The Redis master killed, the stream's worker killed, the next one frozen, a web process killed."""
    sentinels = cluster.sentinels
    assert sentinels is not None
    one, two = cluster.live_url("web-1"), cluster.live_url("web-2")
    viewers = [
        TimedWatcher(one, STREAM, also=(two,)),
        TimedWatcher(two, STREAM, also=(one,)),
        TimedWatcher(one, STREAM, also=(two,)),
    ]
    faults: list[tuple[str, float]] = []

    async def fault(name: str, act: Callable[[], object], then_wait: float = 8.0) -> None:
        faults.append((name, time.time()))
        act()
        await asyncio.sleep(then_wait)

    try:
        for viewer in viewers:
            await viewer.wait_for_more(2000, within=30)
        # worker-a holds the stream; b and c wait to take it over in turn.
        cluster.worker("worker-b")
        cluster.worker("worker-c")
        await asyncio.sleep(2)
        await fault("Redis master killed", sentinels.master.kill)
        await fault("worker-a killed", lambda: cluster.kill("worker-a"))
        frozen = [name for name in ("worker-b", "worker-c") if name in cluster.workers]
        for name in frozen:
            await fault(
                f"{name} frozen",
                functools.partial(cluster.workers[name].send_signal, signal.SIGSTOP),
                5.0,
            )
            cluster.workers[name].send_signal(signal.SIGCONT)
            await asyncio.sleep(3.0)
        await fault("web-1 killed", lambda: cluster.kill("web-1"))
    finally:
        for viewer in viewers:
            await viewer.stop()
    started = faults[0][1]
    silences = [viewer.longest_silence(started) for viewer in viewers]
    print(f"\nfaults: {', '.join(f'{name} at {at - started:.1f} s' for name, at in faults)}")
    print(
        f"longest silence of each viewer: {', '.join(f'{seconds:.2f}' for seconds in silences)} s"
    )
    for viewer in viewers:
        assert_each_once(viewer.seqs)
    busy = overload()
    if busy:
        print(f"{busy}: the longest silence printed, not held to 5 s")
        return
    assert max(silences) <= LIVE_WITHIN_SECONDS, f"a viewer heard nothing for {max(silences):.1f} s"
