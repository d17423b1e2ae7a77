"""Waiting in async tests for what other threads or processes write to the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import OperationalError


async def in_db(function: Callable[[], Any]) -> Any:
    """Run `function` in a thread that may use the database; return its answer."""
    return await sync_to_async(function)()


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Return check()'s first truthy answer (run in a database thread); fail after `timeout`.

    The tests' in-memory SQLite shares one cache between threads, where a read
    that meets another thread's write fails at once ("table is locked") instead
    of waiting: such a check is asked again.
    """
    deadline = time.monotonic() + timeout
    answer = None
    while time.monotonic() < deadline:
        try:
            answer = await sync_to_async(check)()
        except OperationalError as error:
            if "locked" not in str(error):
                raise
        if answer:
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout} s; last answer {answer!r}")
