"""Where every Redis connection comes from: one place that knows plain Redis and Sentinel.

A cluster names its Redis by one URL string, passed through settings and the
channel layer's config: `redis://…` for one server, or `redis+sentinel://…`
(built by `sentinel_url` from REDIS_SENTINELS and REDIS_SENTINEL_MASTER) for a
master that Sentinel watches. A Sentinel client asks the sentinels for the
master's address each time it opens a connection, so after a failover every
fresh connection (the broker's listener replaces a failed one within 0.5 s; a
publish retries once) reaches the new master.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.sentinel import Sentinel as SyncSentinel

SENTINEL_SCHEME = "redis+sentinel"
DEFAULT_MASTER = "mymaster"


class RedisAddressError(ValueError):
    """A Redis or Sentinel address that cannot be understood."""


@dataclass(frozen=True)
class SentinelTarget:
    """A master watched by sentinels: where they are, its name, and how to log in to it."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None

    def connection_options(self) -> dict[str, Any]:
        """Return the master's own connection settings (database, credentials)."""
        options: dict[str, Any] = {"db": self.db}
        if self.username:
            options["username"] = self.username
        if self.password:
            options["password"] = self.password
        return options


def sentinel_address_parse(text: str) -> tuple[str, int]:
    """Return (host, port) of one `host:port` of REDIS_SENTINELS; raise RedisAddressError."""
    host, colon, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisAddressError(f"{text!r} is not host:port (e.g. 10.0.0.5:26379)")
    return host, int(port)


def sentinel_url(
    sentinels: Iterable[str], master: str = DEFAULT_MASTER, redis_url: str = ""
) -> str:
    """Return the `redis+sentinel://` URL of `master` watched by `sentinels` (`host:port` each).

    The database and credentials of `redis_url`, when given, are the master's.
    """
    addresses = [sentinel_address_parse(item) for item in sentinels]
    if not addresses:
        raise RedisAddressError("no sentinel given")
    if not master or "/" in master:
        raise RedisAddressError(f"{master!r} is not a master's name")
    parts = urllib.parse.urlsplit(redis_url) if redis_url else None
    login = ""
    if parts is not None and (parts.username or parts.password):
        login = urllib.parse.quote(parts.username or "", safe="")
        if parts.password:
            login += ":" + urllib.parse.quote(parts.password, safe="")
        login += "@"
    db = (parts.path.strip("/") or "0") if parts is not None else "0"
    hosts = ",".join(
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in addresses
    )
    return f"{SENTINEL_SCHEME}://{login}{hosts}/{urllib.parse.quote(master, safe='')}/{db}"


def sentinel_target(url: str) -> SentinelTarget | None:
    """Return what a `redis+sentinel://` URL names, or None for a plain Redis URL."""
    scheme, _, rest = url.partition("://")
    if scheme != SENTINEL_SCHEME:
        return None
    netloc, _, path = rest.partition("/")
    login, _, hosts = netloc.rpartition("@")
    username, _, password = login.partition(":")
    master, _, db = path.partition("/")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.rpartition(":")
        sentinels.append((host.strip("[]"), int(port)))
    return SentinelTarget(
        sentinels=tuple(sentinels),
        master=urllib.parse.unquote(master),
        db=int(db or 0),
        username=urllib.parse.unquote(username) or None,
        password=urllib.parse.unquote(password) or None,
    )


def sentinel_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options of a connection to a sentinel: the same bounded waits, no more."""
    keys = ("socket_connect_timeout", "socket_timeout")
    return {key: options[key] for key in keys if key in options}


def redis_client(url: str, options: Mapping[str, Any], *, retry_once: bool) -> Redis:
    """Return an asyncio client of the Redis at `url` (`options`: timeouts, health checks).

    With `retry_once`, a command that finds its connection dead (from before a
    Redis restart or a failover) goes again, once, on a fresh one; a timeout is
    not retried, since waiting twice on a Redis that hangs would not help.
    Without it every failure is the caller's to handle (the listener replaces
    its connection).
    """
    retry = (
        Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
        if retry_once
        else Retry(NoBackoff(), 0, supported_errors=())
    )
    target = sentinel_target(url)
    if target is None:
        return Redis.from_url(url, retry=retry, **options)
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=sentinel_options(options))
    return sentinel.master_for(
        target.master, redis_class=Redis, retry=retry, **target.connection_options(), **options
    )


def redis_client_sync(url: str, options: Mapping[str, Any]) -> redis.Redis:
    """Return a blocking client of the Redis at `url` (for threads that cannot await)."""
    target = sentinel_target(url)
    if target is None:
        return redis.Redis.from_url(url, **options)
    sentinel = SyncSentinel(list(target.sentinels), sentinel_kwargs=sentinel_options(options))
    return sentinel.master_for(target.master, **target.connection_options(), **options)
