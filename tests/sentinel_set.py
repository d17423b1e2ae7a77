"""A private Sentinel set for tests: a Redis master, its replica and three sentinels on free ports.

The sentinels are `redis-server --sentinel` (or `redis-sentinel` where installed),
each with a generated config in a folder of its own, watching the master as
`mymaster` with the settings docs/operations.md gives for a failover within
seconds: down after 1 s, a quorum of two.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Self

import redis

from tests.processes import LOOPBACK, ListeningProcess, RedisServer

MASTER_NAME = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


class RedisReplica(RedisServer):
    """A private redis-server that replicates `master_port`."""

    def __init__(self, directory: Path, master_port: int):
        super().__init__(directory)
        self.master_port = master_port

    def command(self) -> list[str]:
        return [*super().command(), "--replicaof", LOOPBACK, str(self.master_port)]


class RedisSentinel(ListeningProcess):
    """One sentinel watching the master at `master_port`; its config file is its own to rewrite."""

    def __init__(self, directory: Path, master_port: int):
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(cwd=directory, log_path=directory / "sentinel.log")
        self.directory = directory
        self.master_port = master_port

    def command(self) -> list[str]:
        config = self.directory / "sentinel.conf"
        config.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    f"bind {LOOPBACK}",
                    f"dir {self.directory}",
                    f"sentinel monitor {MASTER_NAME} {LOOPBACK} {self.master_port} 2",
                    f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
                    f"sentinel parallel-syncs {MASTER_NAME} 1",
                    "",
                ]
            )
        )
        binary = shutil.which("redis-sentinel")
        if binary:
            return [binary, str(config)]
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed; `make setup-dev` installs it")
        return [server, str(config), "--sentinel"]

    def ask(self, *command: str) -> object:
        with redis.Redis(host=LOOPBACK, port=self.port, socket_timeout=2) as client:
            return client.execute_command(*command)


class SentinelSet:
    """Master, replica and three sentinels, started together and ready to fail over."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.master = RedisServer(directory / "master")
        self.replica: RedisReplica | None = None
        self.sentinels: list[RedisSentinel] = []

    @property
    def addresses(self) -> str:
        """Return REDIS_SENTINELS for this set: `host:port` of each sentinel, comma-separated."""
        return ",".join(f"{LOOPBACK}:{sentinel.port}" for sentinel in self.sentinels)

    def master_port(self) -> int:
        """Return the port of the master as the first sentinel that answers names it."""
        for sentinel in self.sentinels:
            try:
                address = sentinel.ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
                assert isinstance(address, list | tuple), address
                return int(address[1])
            except redis.RedisError:
                continue
        raise RuntimeError("no sentinel answers")

    def start(self) -> None:
        for folder in ("master", "replica"):
            (self.directory / folder).mkdir(parents=True, exist_ok=True)
        self.master.start()
        self.replica = RedisReplica(self.directory / "replica", self.master.port)
        self.replica.start()
        for index in range(3):
            sentinel = RedisSentinel(self.directory / f"sentinel-{index}", self.master.port)
            sentinel.start()
            self.sentinels.append(sentinel)
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Return once every sentinel knows the replica and the two other sentinels."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(self.sentinel_ready(sentinel) for sentinel in self.sentinels):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the sentinels did not find each other and the replica in time")

    def sentinel_ready(self, sentinel: RedisSentinel) -> bool:
        replicas = sentinel.ask("SENTINEL", "REPLICAS", MASTER_NAME)
        others = sentinel.ask("SENTINEL", "SENTINELS", MASTER_NAME)
        return (
            isinstance(replicas, list)
            and len(replicas) == 1
            and isinstance(others, list)
            and len(others) == 2
        )

    def wait_failover(self, old_port: int, timeout: float = 30.0) -> float:
        """Wait until the sentinels name a master other than `old_port`; return the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if self.master_port() != old_port:
                    return time.monotonic() - start
            except RuntimeError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"no failover within {timeout:.0f} s")

    def stop(self) -> None:
        for process in [*self.sentinels, self.replica, self.master]:
            if process is not None:
                process.kill()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
