"""Connection limits: sockets per user across both endpoints, token buckets for commands
and for history rows read."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings

from streams.live.census import census
from streams.live.presence import presence
from streams.metrics import metric_inc


def limits_announced() -> dict[str, float | int]:
    """Return the limits every client is told in `hello`."""
    return {
        "max_frame_bytes": settings.PULSEBOARD_MAX_FRAME_BYTES,
        "commands_per_second": settings.PULSEBOARD_COMMANDS_PER_SECOND,
        "command_burst": settings.PULSEBOARD_COMMAND_BURST,
        "max_connections_per_user": settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER,
        "max_subscriptions": settings.PULSEBOARD_MAX_SUBSCRIPTIONS,
        "idle_timeout": settings.PULSEBOARD_IDLE_TIMEOUT,
        "max_backfill": settings.PULSEBOARD_MAX_BACKFILL,
        "history_rows_per_second": settings.PULSEBOARD_HISTORY_ROWS_PER_SECOND,
    }


async def connection_admitted(channel: str, viewer: str) -> bool:
    """Count a new socket of `viewer` in its per-user limit; False, uncounted, when past it.

    /ws/live/ and /ws/data/ sockets count alike, across the cluster's processes.
    """
    if await census().viewer_connections(viewer) >= settings.PULSEBOARD_MAX_CONNECTIONS_PER_USER:
        metric_inc("pulseboard_connections_refused_total", reason="too_many")
        return False
    presence.connect(channel, viewer)
    await census().connection_changed(viewer)
    census().ensure_heartbeat()
    return True


async def connection_released(channel: str, viewer: str) -> list[str]:
    """Stop counting a socket of `viewer`; return the streams it was watching."""
    left = presence.disconnect(channel)
    await census().connection_changed(viewer)
    return left


@dataclass
class CommandBudget:
    """A token bucket: `rate` commands a second on average, bursts up to `burst`.

    `flooding` turns true when a client keeps sending after being told to stop:
    more refused commands in a row than a whole burst.
    """

    rate: float
    burst: int
    tokens: float = field(init=False)
    refused_in_a_row: int = field(default=0, init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def allow(self, now: float | None = None, cost: float = 1) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= cost:
            self.tokens -= cost
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.refused_in_a_row > self.burst
