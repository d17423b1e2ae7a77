"""The producer: runs the sources of running streams, stamps seq, stores, then publishes.

Each tick every owned source is polled; the new samples of all streams are
written to history in one transaction and only then published, one ready-encoded
`data` frame per stream. Because nothing is published before it is stored, a
client that resumes from history never misses what others saw live. When a write
fails the samples are still published and kept (bounded) to be written later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections, connection

from streams.access import derived_stream_stop, derived_streams_rein, kind_reads
from streams.clock import now_ms
from streams.history.retention import retention_apply
from streams.history.samples import history_latest
from streams.messages import PRODUCERS_GROUP, Outgoing, SampleFrame, sample_frame
from streams.metrics import metric_inc, metric_set
from streams.models import Stream
from streams.producer.companions import Companions
from streams.producer.control import stream_set_running
from streams.producer.derived import DerivedReader
from streams.producer.leases import (
    LEASE_MARGIN_MS,
    lease_holder_name,
    leases_claim,
    leases_release,
)
from streams.producer.pipeline import pipeline_run, samples_write
from streams.producer.timers import TIMER_SECONDS, timers_fire
from streams.publishing import send_all, send_stream_status
from streams.sources import SOURCES, Source, source_create

log = logging.getLogger(__name__)
T = TypeVar("T")

# Samples kept for a later write while the database refuses them, per stream.
MAX_UNSTORED = 200_000
RETENTION_EVERY_SECONDS = 60.0
# How long the producer's writes wait for a lock held by someone else.
PRODUCER_LOCK_WAIT_MS = 250


@dataclass
class Runner:
    """A stream this producer owns: its source, its last seq and unstored samples."""

    stream_id: int
    slug: str
    fingerprint: tuple[str, str]
    retention_ms: int
    source: Source
    last_seq: int
    reader: DerivedReader
    unstored: list[SampleFrame] = field(default_factory=list)
    failing: bool = False


@dataclass(frozen=True)
class Assignment:
    """A stream the database says this producer should run, and where it left off."""

    slug: str
    kind: str
    settings: dict[str, Any]
    retention_ms: int
    last_seq: int
    last_values: dict[str, Any] | None


def wait_briefly_for_locks() -> None:
    """Make the producer's own connection give up on a lock quickly.

    Pages may wait for a locked database; the producer must not, or live data
    would stall behind it. A write that fails is kept and retried next tick, and
    the batch is published all the same.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout = {PRODUCER_LOCK_WAIT_MS}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"SET lock_timeout = '{PRODUCER_LOCK_WAIT_MS}ms'")


def sources_load(runners: list[Runner]) -> None:
    for runner in runners:
        runner.source.load(runner.reader)


class Producer:
    def __init__(
        self,
        *,
        holder: str | None = None,
        tick_seconds: float | None = None,
        reconcile_seconds: float | None = None,
        lease_seconds: float | None = None,
        clock: Callable[[], int] = now_ms,
    ):
        self.holder = holder or lease_holder_name()
        self.tick_seconds = tick_seconds or settings.PULSEBOARD_TICK_SECONDS
        self.reconcile_seconds = reconcile_seconds or settings.PULSEBOARD_RECONCILE_SECONDS
        self.lease_ms = int(1000 * (lease_seconds or settings.PULSEBOARD_LEASE_SECONDS))
        self.clock = clock
        self.runners: dict[int, Runner] = {}
        self.layer: Any = get_channel_layer()
        self.reconcile_now = asyncio.Event()
        # One thread, so the producer has its own database connection and its
        # writes never wait behind page requests.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="producer-db")
        self.last_retention = 0.0
        self.lease_deadline = 0
        self.publish_failing = False

    async def in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def call() -> T:
            close_old_connections()
            if connection.connection is None:
                connection.ensure_connection()
                wait_briefly_for_locks()
            return function(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def run(self, stop: asyncio.Event) -> None:
        """Produce until `stop` is set, then give the leases back."""
        log.info("producer %s starting", self.holder)
        listener = asyncio.create_task(self.listen_for_nudges(stop))
        companions = Companions()
        next_reconcile = next_timers = 0.0
        try:
            while not stop.is_set():
                started = time.monotonic()
                if started >= next_reconcile or self.reconcile_now.is_set():
                    self.reconcile_now.clear()
                    await self.guarded(self.reconcile)
                    next_reconcile = started + self.reconcile_seconds
                await self.guarded(self.tick)
                if started >= next_timers:
                    await self.guarded(self.timers)
                    next_timers = started + TIMER_SECONDS
                delay = self.tick_seconds - (time.monotonic() - started)
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            listener.cancel()
            await companions.end()
            await self.in_thread(self.flush_unstored)
            await self.in_thread(leases_release, holder=self.holder)
            self.executor.shutdown(wait=True)
            log.info("producer %s stopped", self.holder)

    async def guarded(self, step: Callable[[], Any]) -> None:
        """Run one step; a failure is logged and the loop goes on."""
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("producer step %s failed; retrying next tick", step.__name__)

    async def listen_for_nudges(self, stop: asyncio.Event) -> None:
        """Reconcile at once when a start/stop is announced, not at the next interval.

        The receive is never cancelled while waiting (a cancelled receive gives the
        channel up on Redis); it waits in a task of its own between group renewals.
        """
        channel, receiving = None, None
        while not stop.is_set():
            try:
                if channel is None:
                    channel = await self.layer.new_channel()
                # Joined again each time: group membership can expire.
                await self.layer.group_add(PRODUCERS_GROUP, channel)
                if receiving is None:
                    receiving = asyncio.ensure_future(self.layer.receive(channel))
                done, _ = await asyncio.wait({receiving}, timeout=30)
                if not done:
                    continue
                message, receiving = receiving.result(), None
            except asyncio.CancelledError:
                if receiving is not None:
                    receiving.cancel()
                raise
            except Exception:
                log.warning("producer could not listen for start/stop messages", exc_info=True)
                channel, receiving = None, None
                await asyncio.sleep(1)
                continue
            if message.get("type") == "producer.reconcile":
                self.reconcile_now.set()

    def plan(self, now: int) -> tuple[dict[int, Assignment], list[Outgoing]]:
        """Claim the leases of every running generated stream; describe the ones we hold.

        First every derived stream is brought back within the read rule (the net
        under the change events): what that stopped is not claimed. Returns the
        assignments and the news of what it changed.
        """
        news = derived_streams_rein()
        candidates = list(
            Stream.objects.filter(running=True, source_kind__in=list(SOURCES)).values_list(
                "id", "slug", "source_kind", "source_settings", "retention_seconds"
            )
        )
        held = leases_claim(
            holder=self.holder,
            stream_ids=[row[0] for row in candidates],
            now=now,
            ttl_ms=self.lease_ms,
        )
        stale = [stream_id for stream_id in self.runners if stream_id not in held]
        leases_release(holder=self.holder, stream_ids=stale)
        owned = {}
        for stream_id, slug, kind, source_settings, retention in candidates:
            if stream_id not in held:
                continue
            runner = self.runners.get(stream_id)
            if runner is not None:
                last_seq, last_values = runner.last_seq, None
            else:
                # A new owner goes on from what is stored: seq, and the source's state.
                latest = history_latest(stream_id, 1)
                last_seq = latest[0]["seq"] if latest else 0
                last_values = latest[0]["values"] if latest else None
            owned[stream_id] = Assignment(
                slug, kind, source_settings, retention * 1000, last_seq, last_values
            )
        return owned, news

    async def reconcile(self) -> None:
        planned_at = self.clock()
        owned, news = await self.in_thread(self.plan, planned_at)
        await send_all(news)
        # The leases just taken hold until then; past it another producer may own them.
        self.lease_deadline = planned_at + self.lease_ms - LEASE_MARGIN_MS
        for stream_id in list(self.runners):
            if stream_id not in owned:
                runner = self.runners.pop(stream_id)
                metric_set("pulseboard_stream_running", 0, stream=runner.slug)
                log.info("producer stopped %s at seq %d", runner.slug, runner.last_seq)
        for stream_id, job in owned.items():
            fingerprint = (job.kind, repr(job.settings))
            current = self.runners.get(stream_id)
            if current is not None and current.fingerprint == fingerprint:
                current.retention_ms = job.retention_ms
                continue
            try:
                source = source_create(job.kind, job.settings)
            except ValueError as error:
                log.error("stream %s has settings its source refuses: %s", job.slug, error)
                continue
            if job.last_values:
                source.resume(job.last_values)
            reader = DerivedReader(stream_id, kind_reads(job.kind, job.settings))
            self.runners[stream_id] = Runner(
                stream_id, job.slug, fingerprint, job.retention_ms, source, job.last_seq, reader
            )
            metric_set("pulseboard_stream_running", 1, stream=job.slug)
            log.info("producer runs %s from seq %d", job.slug, job.last_seq)
        if time.monotonic() - self.last_retention > RETENTION_EVERY_SECONDS:
            self.last_retention = time.monotonic()
            await self.in_thread(retention_apply, self.clock())

    async def tick(self) -> None:
        """Poll every source, store the new samples, then publish them."""
        hungry = [runner for runner in self.runners.values() if runner.source.needs_load]
        if hungry:
            await self.in_thread(sources_load, hungry)
            for runner in [r for r in hungry if r.reader.refused]:
                await self.cut_off(runner)
        now = self.clock()
        if now >= self.lease_deadline:
            if self.runners:
                log.warning("leases not renewed in time; publishing nothing until they are")
            return
        fresh: dict[int, list[SampleFrame]] = {}
        for runner in self.runners.values():
            try:
                readings = runner.source.poll(now)
            except Exception:
                # One broken source (a missing disk, a bad setting) must not stop the others.
                if not runner.failing:
                    log.exception("source of %s failed; it is retried every tick", runner.slug)
                runner.failing = True
                continue
            runner.failing = False
            if not readings:
                continue
            batch = []
            for reading in readings:
                runner.last_seq += 1
                batch.append(
                    sample_frame(runner.last_seq, reading.t, reading.values, reading.flags)
                )
            fresh[runner.stream_id] = batch
        if not fresh and not any(runner.unstored for runner in self.runners.values()):
            return
        for stream_id, batch in fresh.items():
            self.runners[stream_id].unstored.extend(batch)
        try:
            # This tick's frames are published whether or not the write went through:
            # what failed stays unstored and is written (not published again) next tick.
            await pipeline_run(
                store=self.flush_unstored,
                slugs={runner.stream_id: runner.slug for runner in self.runners.values()},
                in_thread=self.in_thread,
                publish=fresh,
            )
        except Exception:
            # Stored all the same: watchers fill the hole from history when frames flow again.
            if not self.publish_failing:
                log.warning("publishing failed; samples are stored, retrying", exc_info=True)
            self.publish_failing = True
        else:
            if self.publish_failing:
                log.warning("publishing works again")
            self.publish_failing = False
        for runner in [r for r in self.runners.values() if r.source.finished]:
            await self.finish(runner)

    async def timers(self) -> None:
        """Let what depends on time passing (silent streams' alert rules) see the clock."""
        await send_all(await self.in_thread(timers_fire, self.clock()))

    async def finish(self, runner: Runner) -> None:
        """Stop a stream whose source has nothing more to give (a replay at its end)."""
        await self.in_thread(
            stream_set_running, stream_id=runner.stream_id, slug=runner.slug, running=False
        )
        await send_stream_status(slug=runner.slug, running=False, by="producer")
        del self.runners[runner.stream_id]
        log.info("producer finished %s at seq %d", runner.slug, runner.last_seq)

    async def cut_off(self, runner: Runner) -> None:
        """Stop a stream whose source was refused a read: its owner no longer reads that stream."""

        def stop() -> list[Outgoing]:
            return derived_stream_stop(runner.stream_id, runner.slug) + derived_streams_rein()

        del self.runners[runner.stream_id]
        await send_all(await self.in_thread(stop))
        log.warning(
            "producer stopped %s: its owner may not read %s", runner.slug, runner.reader.refused
        )

    def flush_unstored(self) -> dict[int, list[SampleFrame]]:
        """Write what waits to be stored; return what was written (nothing when the write failed)."""
        batches = {r.stream_id: r.unstored for r in self.runners.values() if r.unstored}
        if not batches:
            return {}
        try:
            samples_write(batches)
        except Exception:
            metric_inc("pulseboard_store_failures_total")
            log.warning("history write failed; samples kept to retry", exc_info=True)
            for runner in self.runners.values():
                if len(runner.unstored) > MAX_UNSTORED:
                    lost = len(runner.unstored) - MAX_UNSTORED
                    log.error("dropping %d unstored samples of %s", lost, runner.slug)
                    del runner.unstored[:lost]
            return {}
        for runner in self.runners.values():
            runner.unstored = []
        return batches
