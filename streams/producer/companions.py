"""Work that runs beside every producer, registered by upper apps at startup.

The devices app's MQTT bridges must run wherever a producer runs (the worker, or
the web process under `make demo`) and on its event loop, where the in-process
channel layer lives. The data plane knows them only as coroutines it starts with
the producer and that end when the producer's `stop` is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

Companion = Callable[[asyncio.Event], Awaitable[None]]

_companions: list[Companion] = []


def companion_add(companion: Companion) -> None:
    """Run `companion(stop)` beside every producer of this process."""
    if companion not in _companions:
        _companions.append(companion)


# How long a producer that stops waits for its companions to finish before cancelling them.
COMPANION_STOP_SECONDS = 5.0


class Companions:
    """The companions running beside one producer, and the event that stops them."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.tasks = [asyncio.ensure_future(companion(self.stop)) for companion in _companions]

    async def end(self) -> None:
        """Tell the companions to stop; cancel any still running after a few seconds."""
        self.stop.set()
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(self.tasks, timeout=COMPANION_STOP_SECONDS)
        for task in pending:
            task.cancel()
