"""The producer inside a web process, for servers that start nothing else.

`manage.py serve` runs the producer beside the server itself. Under `manage.py
runserver` (Daphne's, the developer's path) or a bare `daphne`/`uvicorn` on the
in-process layer nothing else would, and a process on the in-process layer is the
only one that can publish into it. So the ASGI application starts a producer on
its event loop at its first connection or request, when
PULSEBOARD_EMBEDDED_PRODUCER is on (by default: when there is no REDIS_URL).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings

from streams.producer.loop import Producer

log = logging.getLogger(__name__)

_running: asyncio.Task[None] | None = None
_disabled = False


def embedded_producer_disable() -> None:
    """Say this process runs its producer itself (or none): never start one here."""
    global _disabled
    _disabled = True


def embedded_producer_start() -> None:
    """Start the producer on the running loop, once per process."""
    global _running
    if _disabled or not settings.PULSEBOARD_EMBEDDED_PRODUCER:
        return
    if _running is None or _running.done():
        log.info("starting the producer inside this web process")
        _running = asyncio.get_running_loop().create_task(Producer().run(asyncio.Event()))


class EmbeddedProducer:
    """ASGI middleware: the first connection or request starts this process's producer."""

    def __init__(self, application: Any):
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if _running is None and scope["type"] in ("http", "websocket"):
            embedded_producer_start()
        return await self.application(scope, receive, send)
