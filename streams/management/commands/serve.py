from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn
from channels.routing import get_default_application
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

log = logging.getLogger(__name__)


class Server(uvicorn.Server):
    """uvicorn's server, leaving SIGINT and SIGTERM to `Command.serve`.

    uvicorn raises a signal again once it has shut down, which would end the
    process before the producer hands its leases back.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        if self.should_exit:
            self.force_exit = True  # a second Ctrl-C: stop waiting for connections
        self.should_exit = True


class Command(BaseCommand):
    help = (
        "Serve the site with uvicorn and run the producer in the same process "
        "(the one-process setup of `make demo`; --no-producer for a web process "
        "beside `produce` workers)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--no-producer", action="store_true", help="serve pages and sockets only"
        )

    def handle(self, *args: Any, host: str, port: int, no_producer: bool, **options: Any) -> None:
        config = uvicorn.Config(
            get_default_application(),
            host=host,
            port=port,
            loop="none",  # the loop asyncio.run makes: uvloop when manage.py chose it
            http="httptools",
            ws="websockets-sansio",
            lifespan="off",
            # A client that stops reading stops answering pings and is dropped.
            ws_ping_interval=settings.PULSEBOARD_WS_PING_INTERVAL,
            ws_ping_timeout=settings.PULSEBOARD_WS_PING_TIMEOUT,
            # Frames over the protocol's limit get a `too_large` error from the
            # consumer; the server refuses only what it should not even buffer.
            ws_max_size=max(1 << 20, 16 * settings.PULSEBOARD_MAX_FRAME_BYTES),
            # Frames are small and sent to many sockets: compression would cost
            # CPU per socket per frame.
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=5,
            log_level="warning",
            access_log=False,
        )
        asyncio.run(self.serve(Server(config), host, port, producer=not no_producer))

    @staticmethod
    async def run_server(server: Server) -> None:
        # uvicorn exits through SystemExit when it cannot start; inside a task
        # that would escape the event loop with a traceback.
        with contextlib.suppress(SystemExit):
            await server.serve()

    async def serve(self, server: Server, host: str, port: int, *, producer: bool) -> None:
        from streams.producer.loop import Producer

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.stop)
        serving = asyncio.create_task(self.run_server(server))
        # uvicorn.Server offers a `started` flag, not an event to wait on.
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if serving.done():
            # uvicorn has logged why (the port is taken, say).
            raise CommandError(f"Could not serve on {host}:{port}.")
        running = asyncio.create_task(Producer().run(stop)) if producer else None
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(f"Pulseboard is serving on http://{shown}:{port}/  (Ctrl-C to stop)")
        try:
            await serving
        finally:
            stop.set()
            if running is not None:
                await asyncio.wait([running], timeout=5)
