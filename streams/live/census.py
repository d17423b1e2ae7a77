"""Counts that are the same whichever web process you ask.

Each process knows its own sockets (`presence.py`). With Redis (a cluster) each
process also writes its share of every count there, and reads the cluster's:

- `pulseboard:alive`: process → until when it counts (renewed every few seconds,
  so a killed process's connections stop counting within PROCESS_TTL seconds);
- `pulseboard:viewer:<viewer>`: process → that viewer's connections there (the
  per-user connection limit);
- `pulseboard:stream:<slug>`: process → its watchers of the stream and their
  viewers (the `presence` frame: connections and distinct users);
- `pulseboard:totals`: process → its connections, subscriptions and viewers;
- `pulseboard:activity:<stream id>`: process → the stream's last stored seq and
  rate there (for /api/stats without reading history).

Each process notes the samples it stores (`census_note_stored`, a listener of
stored samples) to know each stream's rate and last seq. Without Redis, the one
process's own counts are the whole truth.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.conf import settings

from streams.fanout.redis_connection import redis_client, redis_client_sync
from streams.live.presence import presence
from streams.metrics import PROCESS

log = logging.getLogger(__name__)

PREFIX = "pulseboard:"
PROCESS_TTL = 15.0
HEARTBEAT_SECONDS = 5.0
ACTIVITY_EVERY_SECONDS = 1.0
# Redis calls on these paths wait this long at most; a Redis that is away costs a
# web process a fallback to its own counts, never a stall.
REDIS_TIMEOUT = 0.5
# A stream's rate is the samples stored over this many seconds.
RATE_WINDOW_SECONDS = 10


def _sum_alive(fields: Any, alive: set[str]) -> list[bytes]:
    """Return the values of `fields` (process → value) written by live processes."""
    return [value for process, value in fields.items() if process.decode() in alive]


# -- each stream's recent activity, noted as this process stores samples ----------------


@dataclass
class StreamActivity:
    last_seq: int = 0
    # (whole second of time.monotonic(), samples stored in it), oldest first
    recent: deque[tuple[int, int]] = field(default_factory=deque)

    def add(self, last_seq: int, count: int, second: int) -> None:
        self.last_seq = max(self.last_seq, last_seq)
        if self.recent and self.recent[-1][0] == second:
            self.recent[-1] = (second, self.recent[-1][1] + count)
        else:
            self.recent.append((second, count))
        self.forget_before(second - RATE_WINDOW_SECONDS + 1)

    def forget_before(self, second: int) -> None:
        while self.recent and self.recent[0][0] < second:
            self.recent.popleft()

    def rate(self, second: int) -> float:
        self.forget_before(second - RATE_WINDOW_SECONDS + 1)
        return sum(count for _, count in self.recent) / RATE_WINDOW_SECONDS


_activity_lock = threading.Lock()
_activity: dict[int, StreamActivity] = {}


def stream_activity_note(batches: dict[int, list[Any]]) -> None:
    """Note batches this process stored: each stream's last seq and samples per second."""
    second = int(time.monotonic())
    with _activity_lock:
        for stream_id, batch in batches.items():
            if batch:
                activity = _activity.setdefault(stream_id, StreamActivity())
                activity.add(batch[-1]["seq"], len(batch), second)


def stream_activity_known() -> list[int]:
    """Return the streams this process has stored samples of."""
    with _activity_lock:
        return list(_activity)


def stream_activity(stream_ids: Iterable[int]) -> dict[int, tuple[float, int]]:
    """Return each stream's samples per second over the last 10 s and its last seq.

    What this process stored (its producer and the pushes it took), since it started.
    """
    second = int(time.monotonic())
    with _activity_lock:
        return {
            stream_id: (round(activity.rate(second), 2), activity.last_seq)
            if (activity := _activity.get(stream_id))
            else (0.0, 0)
            for stream_id in stream_ids
        }


def stream_activity_reset() -> None:
    """Forget every stream's activity (for tests)."""
    with _activity_lock:
        _activity.clear()


class LocalCensus:
    """One process is the whole cluster."""

    async def viewer_connections(self, viewer: str) -> int:
        return presence.connection_count(viewer)

    async def connection_changed(self, viewer: str) -> None:
        """Nothing to mirror."""

    async def stream_counts(self, slug: str) -> dict[str, int]:
        return presence.viewers(slug)

    def streams_counts(self, slugs: Iterable[str]) -> dict[str, dict[str, int]]:
        return {slug: presence.viewers(slug) for slug in slugs}

    def totals(self) -> dict[str, int]:
        viewers = set(presence.connections.values())
        return {
            "connections": len(presence.connections),
            "users": len(viewers),
            "subscriptions": presence.subscription_count(),
        }

    def activity(self, stream_ids: Iterable[int]) -> dict[int, tuple[float, int]]:
        return stream_activity(stream_ids)

    def note_stored(self, batches: dict[int, list[Any]]) -> list[Any]:
        stream_activity_note(batches)
        return []

    def ensure_heartbeat(self) -> None:
        """Nothing to renew."""


class RedisCensus(LocalCensus):
    """This process's counts written to Redis with expiry; the cluster's read back."""

    def __init__(self, url: str):
        timeouts: dict[str, Any] = {
            "socket_connect_timeout": REDIS_TIMEOUT,
            "socket_timeout": REDIS_TIMEOUT,
        }
        # Through redis_connection, so a Sentinel-watched master is followed too.
        self.redis = redis_client(url, timeouts, retry_once=True)
        self.sync = redis_client_sync(url, timeouts)
        self.activity_written = 0.0
        self.alive_cache: tuple[float, set[str]] = (0.0, set())

    # -- liveness -------------------------------------------------------------------

    def ensure_heartbeat(self) -> None:
        """Keep renewing this process's counts in Redis, from the running loop."""
        loop = asyncio.get_running_loop()
        task = getattr(self, "beating", None)
        if task is None or task.done() or task.get_loop() is not loop:
            self.beating = loop.create_task(self.beat())

    async def beat(self) -> None:
        while True:
            try:
                await self.heartbeat()
            except Exception:
                log.warning("could not renew this process's counts in Redis")
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def heartbeat(self) -> None:
        """Say this process is alive and what it holds; drop processes that stopped saying so."""
        now = time.time()
        totals = LocalCensus.totals(self)
        viewers = sorted(set(presence.connections.values()))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(f"{PREFIX}alive", {PROCESS: now + PROCESS_TTL})
            pipe.zremrangebyscore(f"{PREFIX}alive", 0, now)
            pipe.hset(f"{PREFIX}totals", PROCESS, orjson.dumps({**totals, "viewers": viewers}))
            for slug in list(presence.watchers):
                pipe.hset(f"{PREFIX}stream:{slug}", PROCESS, self._stream_share(slug))
            for viewer, count in presence.per_viewer.items():
                pipe.hset(f"{PREFIX}viewer:{viewer}", PROCESS, count)
            await pipe.execute()

    def _alive(self, members: Any) -> set[str]:
        alive = {member.decode() for member in members}
        self.alive_cache = (time.monotonic(), alive)
        return alive | {PROCESS}

    def _alive_sync(self) -> set[str]:
        seen, alive = self.alive_cache
        if time.monotonic() - seen > 1.0:
            alive = self._alive(self.sync.zrangebyscore(f"{PREFIX}alive", time.time(), "+inf"))
        return alive | {PROCESS}

    # -- connections per viewer ---------------------------------------------------------

    async def viewer_connections(self, viewer: str) -> int:
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zrangebyscore(f"{PREFIX}alive", time.time(), "+inf")
                pipe.hgetall(f"{PREFIX}viewer:{viewer}")
                members, counts = await pipe.execute()
        except Exception:
            log.warning("connection counts unavailable; counting this process's only")
            return presence.connection_count(viewer)
        alive = self._alive(members)
        others = sum(int(v) for p, v in counts.items() if p.decode() in alive - {PROCESS})
        return others + presence.connection_count(viewer)

    async def connection_changed(self, viewer: str) -> None:
        count = presence.connection_count(viewer)
        key = f"{PREFIX}viewer:{viewer}"
        try:
            if count:
                await self.redis.hset(key, PROCESS, count)
            else:
                await self.redis.hdel(key, PROCESS)
        except Exception:
            log.warning("could not record connections of %s in Redis", viewer)

    # -- watchers per stream -------------------------------------------------------------

    def _stream_share(self, slug: str) -> bytes:
        watchers = presence.watchers.get(slug, {})
        return orjson.dumps(
            {"connections": len(watchers), "viewers": sorted(set(watchers.values()))}
        )

    @staticmethod
    def _counts(shares: list[bytes]) -> dict[str, int]:
        connections, viewers = 0, set()
        for share in shares:
            decoded = orjson.loads(share)
            connections += decoded["connections"]
            viewers.update(decoded["viewers"])
        return {"connections": connections, "users": len(viewers)}

    async def stream_counts(self, slug: str) -> dict[str, int]:
        """Write this process's watchers of the stream, then return the cluster's counts."""
        key = f"{PREFIX}stream:{slug}"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                if presence.watchers.get(slug):
                    pipe.hset(key, PROCESS, self._stream_share(slug))
                else:
                    pipe.hdel(key, PROCESS)
                pipe.zrangebyscore(f"{PREFIX}alive", time.time(), "+inf")
                pipe.hgetall(key)
                _, members, shares = await pipe.execute()
        except Exception:
            log.warning("presence of %s unavailable in Redis; this process's only", slug)
            return presence.viewers(slug)
        return self._counts(_sum_alive(shares, self._alive(members)))

    def streams_counts(self, slugs: Iterable[str]) -> dict[str, dict[str, int]]:
        slugs = list(slugs)
        try:
            alive = self._alive_sync()
            with self.sync.pipeline(transaction=False) as pipe:
                for slug in slugs:
                    pipe.hgetall(f"{PREFIX}stream:{slug}")
                shares = pipe.execute()
        except Exception:
            return LocalCensus.streams_counts(self, slugs)
        return {
            slug: self._counts(_sum_alive(s, alive)) for slug, s in zip(slugs, shares, strict=True)
        }

    def totals(self) -> dict[str, int]:
        try:
            alive = self._alive_sync()
            shares = _sum_alive(self.sync.hgetall(f"{PREFIX}totals"), alive)
        except Exception:
            return LocalCensus.totals(self)
        connections = subscriptions = 0
        viewers: set[str] = set()
        for share in shares:
            decoded = orjson.loads(share)
            connections += decoded["connections"]
            subscriptions += decoded["subscriptions"]
            viewers.update(decoded["viewers"])
        return {"connections": connections, "users": len(viewers), "subscriptions": subscriptions}

    # -- stored samples per stream ---------------------------------------------------------

    def note_stored(self, batches: dict[int, list[Any]]) -> list[Any]:
        """Note stored batches; at most once a second, write this process's figures to Redis."""
        stream_activity_note(batches)
        now = time.monotonic()
        if now - self.activity_written < ACTIVITY_EVERY_SECONDS:
            return []
        self.activity_written = now
        ours = stream_activity(stream_activity_known())
        try:
            with self.sync.pipeline(transaction=False) as pipe:
                for stream_id, (rate, last_seq) in ours.items():
                    entry = orjson.dumps([rate, last_seq, time.time()])
                    pipe.hset(f"{PREFIX}activity:{stream_id}", PROCESS, entry)
                pipe.execute()
        except Exception:
            log.warning("could not record stream activity in Redis")
        return []

    def activity(self, stream_ids: Iterable[int]) -> dict[int, tuple[float, int]]:
        ids = list(stream_ids)
        ours = stream_activity(ids)
        try:
            with self.sync.pipeline(transaction=False) as pipe:
                for stream_id in ids:
                    pipe.hgetall(f"{PREFIX}activity:{stream_id}")
                entries = pipe.execute()
        except Exception:
            return ours
        fresh_after = time.time() - PROCESS_TTL
        answer = {}
        for stream_id, fields in zip(ids, entries, strict=True):
            rate, last_seq = 0.0, ours[stream_id][1]
            for process, entry in fields.items():
                their_rate, their_seq, written = orjson.loads(entry)
                last_seq = max(last_seq, their_seq)
                if written > fresh_after and process.decode() != PROCESS:
                    rate += their_rate
            answer[stream_id] = (round(rate + ours[stream_id][0], 2), last_seq)
        return answer


def census_make() -> LocalCensus:
    """Return the census for this process: Redis's when REDIS_URL is set."""
    url = getattr(settings, "REDIS_URL", "")
    return RedisCensus(url) if url else LocalCensus()


_census: LocalCensus | None = None


def census() -> LocalCensus:
    """Return this process's census (made on first use, after settings are read)."""
    global _census
    if _census is None:
        _census = census_make()
    return _census


def census_reset() -> None:
    """Forget the census, so the next use reads the settings again (for tests)."""
    global _census
    _census = None


def census_note_stored(batches: dict[int, list[Any]]) -> list[Any]:
    """A listener of stored samples: each stream's last seq and rate, for /api/stats."""
    return census().note_stored(batches)
