"""The producer: runs the sources of running streams, stamps seq, stores, then publishes.

Each tick every owned source is polled; the new samples of all streams are
written to history in one transaction and only then published, one ready-encoded
`data` frame per stream. Because nothing is published before it is stored, a
client that resumes from history never misses what others saw live. When a write
fails the samples are still published and kept (bounded) to be written later.

Nothing slow stands in the live path's way: leases are renewed every
PULSEBOARD_LEASE_RENEW_SECONDS on a thread (and database connection) of their
own, retention trims on another, and on SQLite the producer's writes go before
pushes and retention (`streams.history.store.write_turn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from streams.access import derived_stream_stop, derived_streams_rein, kind_reads
from streams.clock import now_ms
from streams.history.retention import retention_apply
from streams.history.samples import history_latest
from streams.history.store import WritePriority, write_turn
from streams.messages import PRODUCERS_GROUP, Outgoing, SampleFrame, sample_frame
from streams.metrics import metric_inc, metric_set
from streams.models import Stream
from streams.producer.companions import Companions
from streams.producer.control import stream_set_running
from streams.producer.derived import DerivedReader
from streams.producer.leases import (
    lease_holder_name,
    lease_margin_ms,
    leases_claim,
    leases_fence,
    leases_release,
)
from streams.producer.pipeline import pipeline_run, samples_write
from streams.producer.threads import DatabaseThread
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
        self.database = DatabaseThread("producer-db", lock_wait_ms=PRODUCER_LOCK_WAIT_MS)
        # Leases and retention each have a thread of their own: a renewal never waits
        # behind a tick's write, and a long retention pass never holds up either. A
        # renewal that meets a lock gives up as quickly: the next one comes 0.25 s later,
        # and the loop's reconciles, which claim on this thread too, must not wait long.
        self.lease_thread = DatabaseThread("producer-lease", lock_wait_ms=PRODUCER_LOCK_WAIT_MS)
        self.retention_thread = DatabaseThread("producer-retention", lock_wait_ms=5_000)
        self.renew_seconds = settings.PULSEBOARD_LEASE_RENEW_SECONDS
        self.margin_ms = min(lease_margin_ms(), self.lease_ms // 2)
        self.last_retention = 0.0
        self.retention: asyncio.Future[None] | None = None
        self.lease_deadline = 0
        self.lease_candidates: list[int] = []
        self.lost: set[int] = set()  # streams whose lease a write found gone
        self.publish_failing = False

    async def in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `function` in the producer's own database thread."""
        return await self.database.run(function, *args, **kwargs)

    async def in_lease_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `function` in the thread that claims and renews leases."""
        return await self.lease_thread.run(function, *args, **kwargs)

    async def run(self, stop: asyncio.Event) -> None:
        """Produce until `stop` is set, then give the leases back."""
        log.info("producer %s starting", self.holder)
        listener = asyncio.create_task(self.listen_for_nudges(stop))
        companions = Companions()
        keeper = asyncio.create_task(self.keep_leases(stop))
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
            keeper.cancel()
            await self.in_thread(self.flush_unstored)
            await self.in_lease_thread(leases_release, holder=self.holder)
            if self.retention is not None:
                await asyncio.wait([self.retention])
            self.shutdown()
            log.info("producer %s stopped", self.holder)

    def shutdown(self) -> None:
        """End the producer's threads (each closes its database connection as it ends)."""
        for thread in self.threads:
            thread.shutdown()

    @property
    def threads(self) -> tuple[DatabaseThread, ...]:
        return (self.database, self.lease_thread, self.retention_thread)

    async def keep_leases(self, stop: asyncio.Event) -> None:
        """Renew the leases every PULSEBOARD_LEASE_RENEW_SECONDS, and claim free ones as soon."""
        while not stop.is_set():
            started = time.monotonic()
            await self.guarded(self.renew_leases)
            delay = self.renew_seconds - (time.monotonic() - started)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def renew_leases(self) -> None:
        """Renew what we hold and take what has expired; a change makes the loop reconcile."""
        if not self.lease_candidates:
            return
        claimed_at = self.clock()
        held = await self.in_lease_thread(
            leases_claim,
            holder=self.holder,
            stream_ids=self.lease_candidates,
            now=claimed_at,
            ttl_ms=self.lease_ms,
        )
        if held >= set(self.runners):
            self.lease_deadline = max(
                self.lease_deadline, claimed_at + self.lease_ms - self.margin_ms
            )
        if held != set(self.runners):
            self.reconcile_now.set()

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
        self.lease_candidates = [row[0] for row in candidates]
        held = leases_claim(
            holder=self.holder,
            stream_ids=self.lease_candidates,
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
        owned, news = await self.in_lease_thread(self.plan, planned_at)
        await send_all(news)
        # The leases just taken hold until then; past it another producer may own them.
        self.lease_deadline = planned_at + self.lease_ms - self.margin_ms
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
        if time.monotonic() - self.last_retention > RETENTION_EVERY_SECONDS and (
            self.retention is None or self.retention.done()
        ):
            self.last_retention = time.monotonic()
            self.retention = asyncio.ensure_future(self.trim(self.clock()))

    async def trim(self, now: int) -> None:
        """Apply retention on its own thread; ticks and renewals go on meanwhile."""
        try:
            await self.retention_thread.run(retention_apply, now)
        except Exception:
            log.exception("retention failed; it runs again within a minute")

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
        slugs = {runner.stream_id: runner.slug for runner in self.runners.values()}
        try:
            # This tick's frames are published whether or not the write went through:
            # what failed stays unstored and is written (not published again) next tick.
            # Not so a stream whose lease the write found gone (another producer has
            # it), nor anything once the lease may have run out while the write waited.
            await pipeline_run(
                store=self.flush_unstored,
                slugs=slugs,
                in_thread=self.in_thread,
                publish=lambda: {
                    stream_id: batch
                    for stream_id, batch in fresh.items()
                    if stream_id not in self.lost and self.clock() < self.lease_deadline
                },
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
        self.drop_lost()
        for runner in [r for r in self.runners.values() if r.source.finished]:
            await self.finish(runner)

    def drop_lost(self) -> None:
        """Stop running the streams whose write found their lease with another producer."""
        for stream_id in self.lost:
            runner = self.runners.pop(stream_id, None)
            if runner is not None:
                metric_set("pulseboard_stream_running", 0, stream=runner.slug)
                log.warning("producer lost %s to another at seq %d", runner.slug, runner.last_seq)
        self.lost.clear()

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
        """Write what waits to be stored; return what was written (nothing when the write failed).

        The write checks our leases in its own transaction: the samples of a stream
        another producer has taken over are dropped with its runner, unwritten.
        """
        batches = {r.stream_id: r.unstored for r in self.runners.values() if r.unstored}
        if not batches:
            return {}
        try:
            with write_turn(WritePriority.LIVE, PRODUCER_LOCK_WAIT_MS / 1000), transaction.atomic():
                held = leases_fence(holder=self.holder, stream_ids=list(batches))
                for stream_id in [stream_id for stream_id in batches if stream_id not in held]:
                    self.lost.add(stream_id)
                    del batches[stream_id]
                if batches:
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
        for stream_id in batches:
            self.runners[stream_id].unstored = []
        return batches
