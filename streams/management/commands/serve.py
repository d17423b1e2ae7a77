from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import uvicorn
from channels.routing import get_default_application
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from streams.producer.embedded import embedded_producer_disable

log = logging.getLogger(__name__)

SERVERS = ("uvicorn", "daphne")
# Daphne and uvicorn default to different lifetimes; a socket lives until its client
# leaves, stops answering pings or idles past PULSEBOARD_IDLE_TIMEOUT (the consumer's).
DAPHNE_WEBSOCKET_TIMEOUT = -1
DAPHNE_WEBSOCKET_CONNECT_TIMEOUT = 20
PRODUCER_STOP_SECONDS = 5


def server_stop(server: uvicorn.Server) -> None:
    """Have uvicorn shut down gracefully; a second Ctrl-C stops waiting for connections."""
    if server.should_exit:
        server.force_exit = True
    server.should_exit = True


def daphne_options() -> dict[str, Any]:
    """Return daphne.server.Server's limits that match `serve`'s uvicorn (docs/operations.md)."""
    return {
        "ping_interval": settings.PULSEBOARD_WS_PING_INTERVAL,
        "ping_timeout": settings.PULSEBOARD_WS_PING_TIMEOUT,
        "websocket_max_message_size": settings.PULSEBOARD_WS_MAX_MESSAGE_BYTES,
        "websocket_max_frame_size": settings.PULSEBOARD_WS_MAX_MESSAGE_BYTES,
        "websocket_timeout": DAPHNE_WEBSOCKET_TIMEOUT,
        "websocket_connect_timeout": DAPHNE_WEBSOCKET_CONNECT_TIMEOUT,
    }


class Command(BaseCommand):
    help = (
        "Serve the site and run the producer in the same process (the one-process "
        "setup of `make demo`; --no-producer for a web process beside `produce` "
        "workers). uvicorn by default, or --server daphne."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--no-producer", action="store_true", help="serve pages and sockets only"
        )
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default="uvicorn",
            help="the web server (both apply the same WebSocket limits)",
        )

    def handle(
        self, *args: Any, host: str, port: int, no_producer: bool, server: str, **options: Any
    ) -> None:
        # This command runs the producer itself (or, with --no-producer, none).
        embedded_producer_disable()
        if server == "daphne":
            self.serve_daphne(host, port, producer=not no_producer)
            return
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
            ws_max_size=settings.PULSEBOARD_WS_MAX_MESSAGE_BYTES,
            # Frames are small and sent to many sockets: compression would cost
            # CPU per socket per frame.
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=5,
            log_level="warning",
            access_log=False,
        )
        asyncio.run(self.serve(uvicorn.Server(config), host, port, producer=not no_producer))

    def serving_message(self, host: str, port: int) -> str:
        shown = f"[{host}]" if ":" in host else host
        return f"Pulseboard is serving on http://{shown}:{port}/  (Ctrl-C to stop)"

    @staticmethod
    async def run_server(server: uvicorn.Server) -> None:
        # uvicorn exits through SystemExit when it cannot start; inside a task
        # that would escape the event loop with a traceback.
        with contextlib.suppress(SystemExit):
            await server.serve()

    async def serve(self, server: uvicorn.Server, host: str, port: int, *, producer: bool) -> None:
        from streams.producer.loop import Producer

        stop = asyncio.Event()
        # While it serves, uvicorn puts its own handlers in place (graceful, then
        # forced on a second Ctrl-C). Once shut down it restores these and raises
        # the signal again: it lands here rather than ending the process before the
        # producer hands its leases back.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, frame: server_stop(server))
        serving = asyncio.create_task(self.run_server(server))
        # uvicorn.Server offers a `started` flag, not an event to wait on.
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if serving.done():
            # uvicorn has logged why (the port is taken, say).
            raise CommandError(f"Could not serve on {host}:{port}.")
        running = asyncio.create_task(Producer().run(stop)) if producer else None
        self.stdout.write(self.serving_message(host, port))
        try:
            await serving
        finally:
            stop.set()
            if running is not None:
                await asyncio.wait([running], timeout=PRODUCER_STOP_SECONDS)

    def serve_daphne(self, host: str, port: int, *, producer: bool) -> None:
        """Run Daphne (Twisted on an asyncio loop) with the producer on the same loop."""
        # Importing daphne.server installs Twisted's asyncio reactor; the "daphne"
        # app in INSTALLED_APPS has done so already.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server as DaphneServer
        from twisted.internet import defer, reactor

        from streams.producer.loop import Producer

        stop = asyncio.Event()
        running: list[asyncio.Task[None]] = []

        def started() -> None:
            # Daphne calls this once it listens, with the reactor's loop made current.
            if producer:
                running.append(asyncio.ensure_future(Producer().run(stop)))
            self.stdout.write(self.serving_message(host, port))

        def stopping() -> defer.Deferred[Any] | None:
            # Twisted waits for this before it stops, so the producer hands back its leases.
            stop.set()
            if not running:
                return None
            return defer.Deferred.fromFuture(
                asyncio.ensure_future(asyncio.wait(running, timeout=PRODUCER_STOP_SECONDS))
            )

        # Twisted types its reactor as interfaces that mypy reads with a shifted `self`.
        twisted: Any = reactor
        twisted.addSystemEventTrigger("before", "shutdown", stopping)
        server = DaphneServer(
            application=get_default_application(),
            endpoints=build_endpoint_description_strings(host=host, port=port),
            ready_callable=started,
            **daphne_options(),
        )
        server.run()
        if not server.listening_addresses:
            raise CommandError(f"Could not serve on {host}:{port}.")
