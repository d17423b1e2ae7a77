"""A live socket's one line of messages: its channel's queue, which its client's messages join.

On a layer that lets a consumer `attach` to its channel (Pulseboard's layers),
the socket reads that queue itself, the client's messages forwarded into it,
instead of Channels' loop that waits on two tasks and starts one per message.
Commands that wait on reads (subscribes) run beside the loop (`beside`); while
any runs, the layer's messages are held, in order, and handled once they end,
as if the loop had been busy. While the loop waits with nothing queued or
held, the layer may hand the socket a message inside its own call
(`LiveConsumer.deliver`).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.exceptions import StopConsumer

log = logging.getLogger(__name__)

Queue = asyncio.Queue[tuple[float, dict[str, Any]]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Handle = Callable[[dict[str, Any]], Awaitable[None]]

# The loop's own message: the commands running beside it are done.
SIDE_DONE = "pulseboard.side_done"


class Inbox:
    """The queue one socket reads, with the commands running beside it and the messages held."""

    def __init__(self, queue: Queue):
        self.queue = queue
        self.waiting = False  # for the next message, every earlier one handled
        self.side: set[asyncio.Task[None]] = set()  # commands running beside the loop
        self.held: list[dict[str, Any]] = []  # the layer's messages that came meanwhile

    def put(self, message: dict[str, Any]) -> bool:
        """Queue a message of the socket's own after what came before; False when full."""
        try:
            self.queue.put_nowait((math.inf, message))
        except asyncio.QueueFull:
            return False
        return True

    def beside(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a command beside the loop, which goes on with the client's next messages.

        The layer's messages wait until no such command runs, then are handled in
        the order they came. `work` handles its own errors.
        """
        task = asyncio.ensure_future(work)
        self.side.add(task)
        task.add_done_callback(self.side_done)

    def side_done(self, task: asyncio.Task[None]) -> None:
        self.side.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None and not isinstance(error, OSError):
            log.error("a command beside the loop failed", exc_info=error)
        if not self.side:
            # Wakes the loop to hand over what it held; a full queue wakes it anyway.
            self.put({"type": SIDE_DONE})

    async def settle(self) -> None:
        """Wait for the commands running beside the loop (a command after them waits so)."""
        while self.side:
            await asyncio.gather(*self.side, return_exceptions=True)

    async def run(self, receive: Receive, handle: Handle) -> None:
        """Handle the socket's messages in order until its client leaves."""
        queue = self.queue

        async def forward() -> None:
            while True:
                message = await receive()
                await queue.put((math.inf, message))
                if message["type"] == "websocket.disconnect":
                    return

        reader = asyncio.ensure_future(forward())
        try:
            while True:
                self.waiting = True
                _, message = await queue.get()
                self.waiting = False
                if self.held and not self.side:
                    # The commands beside ended: what came meanwhile goes first.
                    held, self.held = self.held, []
                    for each in held:
                        await handle(each)
                kind = message["type"]
                if kind == SIDE_DONE:
                    continue
                if self.side and not kind.startswith("websocket."):
                    self.held.append(message)
                else:
                    await handle(message)
        except StopConsumer:
            pass
        finally:
            self.waiting = False
            reader.cancel()
