"""Each viewer's allowance of stored samples a second, shared by all their sockets in a process.

A socket's history — `backfill`, a resume with `since`, the filling of a hole —
is read from the database. Each user (or each secret link, for its anonymous
holders) draws those rows from one token bucket per web process: on average
PULSEBOARD_HISTORY_ROWS_PER_SECOND, bursts up to PULSEBOARD_MAX_RESUME, however
many sockets they open. What counts is the rows read: a read that one batch
shares among many subscribers (streams/live/shared_reads.py) is counted once,
to the viewer whose ask made it as large as it is. With Redis and several web
processes, each process keeps its own buckets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings


@dataclass
class Allowance:
    """A viewer's bucket of rows. It may run below zero after a read it could not refuse."""

    tokens: float = field(default_factory=lambda: float(settings.PULSEBOARD_MAX_RESUME))
    updated: float = field(default_factory=time.monotonic)

    def level(self, now: float | None = None) -> float:
        """Return the rows the viewer may read now (refilled up to the burst since the last look)."""
        now = time.monotonic() if now is None else now
        rate = settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND
        self.tokens = min(
            float(settings.PULSEBOARD_MAX_RESUME), self.tokens + (now - self.updated) * rate
        )
        self.updated = now
        return self.tokens

    def covers(self, rows: int) -> bool:
        """Return whether a read of `rows` may start now (none at all while overdrawn)."""
        level = self.level()
        return level > 0 and level >= rows

    def take(self, rows: int) -> bool:
        """Draw `rows` if they are there (a read of nothing always may); False, untouched, if not."""
        if rows <= 0:
            return True
        if not self.covers(rows):
            return False
        self.tokens -= rows
        return True

    def charge(self, rows: int) -> None:
        """Count rows already read, whether or not they were there: they were read."""
        if rows > 0:
            self.level()
            self.tokens -= rows

    def give_back(self, rows: int) -> None:
        """Return rows drawn for a read that read fewer."""
        if rows > 0:
            self.level()
            self.tokens = min(float(settings.PULSEBOARD_MAX_RESUME), self.tokens + rows)

    def full(self, now: float) -> bool:
        return self.level(now) >= settings.PULSEBOARD_MAX_RESUME


class Allowances:
    """The buckets of this process, by viewer ("user:<id>", "link:<dashboard id>")."""

    # A bucket back to full is the same as a new one: forget it (looked at this often).
    PRUNE_EVERY = 256

    def __init__(self) -> None:
        self.buckets: dict[str, Allowance] = {}
        self.lookups = 0

    def of(self, viewer: str) -> Allowance:
        self.lookups += 1
        if self.lookups % self.PRUNE_EVERY == 0:
            now = time.monotonic()
            self.buckets = {k: b for k, b in self.buckets.items() if not b.full(now)}
        bucket = self.buckets.get(viewer)
        if bucket is None:
            bucket = self.buckets[viewer] = Allowance()
        return bucket


history_allowances = Allowances()
