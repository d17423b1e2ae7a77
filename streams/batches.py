"""Reads that callers arriving together share: one running per key, the next serving all who waited.

A reconnect storm is a thousand handshakes and eight thousand subscribes within
seconds. Each used to make its own trip to a database thread, and every trip
waits for the event loop's thread to let go of the GIL; the trips, not the
queries, set how fast sockets got in. `Batches` gathers the requests that
arrive while a read for the same key runs and answers them all with the next
one.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")
Shared = TypeVar("Shared")

# Callers woken per turn of the event loop when a batch's read is done.
WAKE_PER_TURN = 25

# How a batch's read runs: `run(read, key, requests)` returns what it will return.
Runner = Callable[..., Awaitable[Any]]


class Batches(Generic[Request, Result]):
    """Run `read(key, requests)` one batch at a time per key, each serving what waited for it."""

    def __init__(self, read: Callable[[Hashable, list[Request]], list[Result]], run: Runner):
        self.read = read
        self.run = run
        self.waiting: dict[Hashable, list[tuple[Request, asyncio.Future[Result]]]] = {}
        self.running: set[Hashable] = set()

    async def ask(self, key: Hashable, request: Request) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(key, []).append((request, future))
        if key not in self.running:
            self.start(key)
        return await future

    def start(self, key: Hashable) -> None:
        batch = self.waiting.pop(key)
        self.running.add(key)
        requests = [request for request, _ in batch]
        done = asyncio.ensure_future(self.run(self.read, key, requests))
        done.add_done_callback(lambda outcome: self.finish(key, batch, outcome))

    def finish(
        self,
        key: Hashable,
        batch: list[tuple[Request, asyncio.Future[Result]]],
        outcome: asyncio.Future[list[Result]],
    ) -> None:
        self.running.discard(key)
        self.answer(batch, outcome, 0)
        if key in self.waiting:
            self.start(key)

    def answer(
        self,
        batch: list[tuple[Request, asyncio.Future[Result]]],
        outcome: asyncio.Future[list[Result]],
        start: int,
    ) -> None:
        """Wake up to `WAKE_PER_TURN` callers, and the next ones on the loop's next turn.

        Every caller woken runs before the loop looks at its timers again: a
        thousand at once would hold back the frames of everyone already live.
        """
        error = None if outcome.cancelled() else outcome.exception()
        end = min(len(batch), start + WAKE_PER_TURN)
        for index in range(start, end):
            future = batch[index][1]
            if future.done():
                continue  # its caller went away
            if outcome.cancelled():
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(outcome.result()[index])
        if end < len(batch):
            asyncio.get_running_loop().call_soon(self.answer, batch, outcome, end)


def per_loop(make: Callable[[], Shared]) -> Callable[[], Shared]:
    """Return a function giving the running event loop its own `make()` (futures belong to one loop)."""
    made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Shared] = weakref.WeakKeyDictionary()

    def get() -> Shared:
        loop = asyncio.get_running_loop()
        shared = made.get(loop)
        if shared is None:
            shared = made[loop] = make()
        return shared

    return get
