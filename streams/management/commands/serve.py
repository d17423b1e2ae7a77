from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Serve the site with Daphne and run the producer in the same process "
        "(the one-process setup of `make demo`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--no-producer", action="store_true", help="serve pages and sockets only"
        )

    def handle(self, *args: Any, host: str, port: int, no_producer: bool, **options: Any) -> None:
        # daphne.server installs Twisted's asyncio reactor; it must come first.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from twisted.internet import defer, reactor

        from config.asgi import application
        from streams.producer import Producer

        stop = asyncio.Event()
        running: list[asyncio.Task[None]] = []

        def ready() -> None:
            if not no_producer:
                # Daphne has made the reactor's asyncio loop current; the task
                # starts as soon as that loop runs.
                loop = asyncio.get_event_loop()
                running.append(loop.create_task(Producer().run(stop)))
            shown = f"[{host}]" if ":" in host else host
            self.stdout.write(f"Pulseboard is serving on http://{shown}:{port}/  (Ctrl-C to stop)")

        def shutdown() -> defer.Deferred | None:
            stop.set()
            if running:
                return defer.Deferred.fromFuture(
                    asyncio.ensure_future(asyncio.wait(running, timeout=5))
                )
            return None

        cast(Any, reactor).addSystemEventTrigger("before", "shutdown", shutdown)
        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            ready_callable=ready,
            application_close_timeout=5,
            ping_interval=settings.PULSEBOARD_WS_PING_INTERVAL,
            ping_timeout=settings.PULSEBOARD_WS_PING_TIMEOUT,
            verbosity=0,
        ).run()
