from __future__ import annotations

import asyncio
import gc
import signal
from typing import Any

from django.core.management.base import BaseCommand

from streams.producer.loop import Producer


class Command(BaseCommand):
    help = "Run the sources of every running stream until SIGINT or SIGTERM (the worker)."

    def handle(self, *args: Any, **options: Any) -> None:
        # Startup's objects live as long as the process: frozen, the full collections
        # that each tick's and each MQTT batch's short-lived objects set off skip them.
        gc.freeze()
        asyncio.run(self.produce())

    async def produce(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        producer = Producer()
        self.stdout.write(f"Producing as {producer.holder}; Ctrl-C to stop.")
        await producer.run(stop)
        self.stdout.write("Stopped; leases released.")
