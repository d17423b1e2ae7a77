from __future__ import annotations

import asyncio
import gc
import signal
from typing import Any

from django.core.management.base import BaseCommand

from devices.supervisor import Supervisor


class Command(BaseCommand):
    help = (
        "Run the MQTT bridges of every enabled broker until SIGINT or SIGTERM (one bridge "
        "per broker across processes), whatever PULSEBOARD_MQTT_BRIDGES says."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # What Django and the apps made at startup lives as long as the process: frozen,
        # it is left out of the full collections that each batch's short-lived objects
        # set off (each would otherwise walk some 150k objects).
        gc.freeze()
        asyncio.run(self.bridge())

    async def bridge(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        supervisor = Supervisor()
        self.stdout.write(f"Bridging MQTT brokers as {supervisor.holder}; Ctrl-C to stop.")
        await supervisor.run(stop)
        self.stdout.write("Stopped; broker leases released.")
