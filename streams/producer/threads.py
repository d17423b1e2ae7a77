"""The producer's database threads: each its own connection, and how long its writes wait for a lock.

A tick's write gives up quickly (it is kept and retried next tick, and the
batch is published all the same), so live data never stalls behind a lock. A
lease renewal runs on a thread of its own and may wait longer: nothing else
waits for it, and a renewal that fails costs the streams their publishing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import close_old_connections, connection

T = TypeVar("T")


def lock_wait_set(milliseconds: int) -> None:
    """Make this thread's connection give up on a lock held by another after `milliseconds`."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout = {milliseconds}")
        elif connection.vendor == "postgresql":
            cursor.execute(f"SET lock_timeout = '{milliseconds}ms'")


class DatabaseThread:
    """One thread that runs blocking database work for the event loop, on its own connection."""

    def __init__(self, name: str, *, lock_wait_ms: int):
        self.lock_wait_ms = lock_wait_ms
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `function` in the thread and return what it returns."""

        def call() -> T:
            close_old_connections()
            if connection.connection is None:
                connection.ensure_connection()
                lock_wait_set(self.lock_wait_ms)
            return function(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def shutdown(self) -> None:
        """Wait for the work under way, then end the thread."""
        self.executor.shutdown(wait=True)
