from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alerts.sender import OWNER_THREADS, POOL_THREADS, STOP_SECONDS, Sender


class Command(BaseCommand):
    help = (
        "Send queued alert notices until SIGINT or SIGTERM: the alerts worker. It sends"
        " whatever PULSEBOARD_ALERT_SENDER says (that turns off the sender of a producer's"
        " process); several may run at once, each notice is sent by one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--threads", type=int, default=POOL_THREADS, help="notices sent at once at most"
        )

    def handle(self, *args: Any, threads: int, **options: Any) -> None:
        threads = max(1, threads)
        # One owner's contact points hold a quarter of the threads at most, as by default.
        sender = Sender(threads=threads, per_owner=max(1, min(OWNER_THREADS, threads // 4)))

        def stop(signum: int, frame: FrameType | None) -> None:
            sender.stop()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        self.stdout.write(f"Sending alert notices, {sender.threads} at once; Ctrl-C to stop.")
        sender.run()
        left = sender.finish(STOP_SECONDS)
        if left:
            # Their rows stay claimed; another sender takes them once the claim runs out.
            self.stdout.write(f"Stopped; {left} notices were still being sent.")
        else:
            self.stdout.write("Stopped.")
