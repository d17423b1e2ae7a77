"""Where the fan-out's Redis connections come from: one factory, so Sentinel can plug in here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


def redis_client(url: str, options: Mapping[str, Any], *, retry_once: bool) -> Redis:
    """Return an asyncio client of the Redis at `url` (`options`: timeouts, health checks).

    With `retry_once`, a command that finds its connection dead (from before a
    Redis restart) goes again, once, on a fresh one; a timeout is not retried,
    since waiting twice on a Redis that hangs would not help. Without it every
    failure is the caller's to handle (the listener replaces its connection).
    """
    retry = (
        Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
        if retry_once
        else Retry(NoBackoff(), 0, supported_errors=())
    )
    return Redis.from_url(url, retry=retry, **options)
